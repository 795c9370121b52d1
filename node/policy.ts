// Loads the deadline policy both parties agreed. Its digest (SHA-256 of the RFC 8785 form of the
// file's JSON, so formatting does not matter) travels in every request; a responder whose policy
// differs refuses the request. Its `retention` member is this node's own and not in the digest.
import fs from 'node:fs/promises';
import { canonicalJson } from '../protocol/canonical-json.js';
import { sha256Hex } from '../protocol/digest.js';
import { DeadlinePolicy } from '../schemas/policy.js';

export interface LoadedPolicy {
  policy: DeadlinePolicy;
  digest: string;
  file: string;
}

export async function loadPolicy(file: string): Promise<LoadedPolicy> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`the deadline policy ${file} cannot be read as JSON (PARLEY_POLICY_FILE)`, {
      cause: err,
    });
  }
  const parsed = DeadlinePolicy.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`)
      .join('; ');
    throw new Error(`the deadline policy ${file} is not valid: ${where}`);
  }
  return { policy: parsed.data, digest: policyDigest(raw), file };
}

/**
 * The digest both parties compare: of the file's JSON without `retention`, which is each node's
 * own (a policy without it keeps the digest it always had).
 */
export function policyDigest(raw: unknown): string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('retention' in raw))
    return sha256Hex(canonicalJson(raw));
  const { retention: _own, ...agreed } = raw as Record<string, unknown>;
  return sha256Hex(canonicalJson(agreed));
}
