// A deadline policy in seconds for tests, held in memory as a node holds its own once loaded
// (node/policy.ts): parsed, with the digest the parties compare. The JSON it stands for is kept,
// so a test can derive another policy's digest from it. A file both test nodes load is written by
// writeTestPolicy (./policy.ts).
import { policyDigest, type LoadedPolicy } from '../../node/policy.js';
import { DeadlinePolicy } from '../../schemas/policy.js';
import type { SecondsRule } from './policy.js';

export interface TestPolicy extends LoadedPolicy {
  /** The policy's JSON, as a file would hold it. */
  raw: { version: 1; name: string; calendar: 'calendar'; rules: SecondsRule[] };
}

/** The policy named `name` with exactly these `rules` (no defaults for the other kinds). */
export function testPolicy(
  name: string,
  rules: SecondsRule[],
  file = 'test-policy.json',
): TestPolicy {
  const raw = { version: 1 as const, name, calendar: 'calendar' as const, rules };
  return { raw, policy: DeadlinePolicy.parse(raw), digest: policyDigest(raw), file };
}
