// Decrypts every encrypted payload inside a fetched workflow history, wherever it sits (inputs,
// results, updates, signals, markers), so a history can be kept as a plaintext test fixture that
// replays without the keys of the node that ran it.
import type { Payload, PayloadCodec } from '@temporalio/common';
import { isEncrypted } from './codec.js';

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

function looksEncrypted(value: unknown): value is Payload {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  const metadata = (value as Payload).metadata;
  return typeof metadata === 'object' && metadata !== null && isEncrypted(value);
}

function collect(value: unknown, slots: Slot[], seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (seen.has(value)) return;
  seen.add(value);
  const parent = value as Record<string, unknown> | unknown[];
  for (const [key, child] of Object.entries(parent)) {
    const slotKey = Array.isArray(parent) ? Number(key) : key;
    if (looksEncrypted(child)) slots.push({ parent, key: slotKey });
    else collect(child, slots, seen);
  }
}

/**
 * Replaces, in place, each encrypted payload in `history` by what `codecs` decode it to (in the
 * reverse of the order they encode, as the SDK does) and returns the history.
 */
export async function decodeHistoryPayloads<T extends object>(
  history: T,
  codecs: readonly PayloadCodec[],
): Promise<T> {
  const slots: Slot[] = [];
  collect(history, slots, new Set());
  if (slots.length === 0) return history;
  let payloads = slots.map(({ parent, key }) => (parent as Record<string, Payload>)[key]!);
  for (const codec of [...codecs].reverse()) payloads = await codec.decode(payloads);
  slots.forEach(({ parent, key }, i) => {
    (parent as Record<string | number, unknown>)[key] = payloads[i];
  });
  return history;
}
