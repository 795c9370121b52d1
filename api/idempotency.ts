// The Idempotency-Key header of officers' writes: a create or an action sent again with the same
// key (by the same caller, with the same body) is the same operation, never a second one.
import type { Request } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { canonicalJson } from '../protocol/canonical-json.js';
import { sha256Hex } from '../protocol/digest.js';

export const IdempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{8,128}$/, '8 to 128 characters: letters, digits, _ . : -');

/** The request's Idempotency-Key, undefined when absent; 400 schema_invalid when malformed. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  const parsed = IdempotencyKey.safeParse(key);
  if (!parsed.success) {
    throw new AppError('schema_invalid', 'the Idempotency-Key header is not valid', [
      { path: 'header:Idempotency-Key', message: parsed.error.issues[0]?.message ?? 'invalid' },
    ]);
  }
  return parsed.data;
}

/** SHA-256 of a body in RFC 8785 form: member order and defaults do not change it. */
export function bodyDigest(body: unknown): string {
  return sha256Hex(canonicalJson(body));
}

/**
 * The Temporal update id of an officer's action sent with `key`: the same caller's retries carry
 * the same id, and Temporal runs an update of a given id once per workflow run.
 */
export function actionUpdateId(principal: string, key: string): string {
  return `act-${sha256Hex(`${principal}\n${key}`).slice(0, 32)}`;
}

export const IDEMPOTENCY_KEY_REUSED =
  'this Idempotency-Key was sent before with another body; a new operation needs a new key';
