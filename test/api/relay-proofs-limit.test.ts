// A mediator's relay proofs (`POST /v1/relayed/proofs`) are not authenticated: the digests are the
// credential. One address asking again and again would watch the mediator's log grow (its size in
// each checkpoint) and make it sign checkpoint after checkpoint, so each address may ask
// RELAY_PROOFS_PER_MINUTE times a minute, and as many at once; beyond, 429 with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { PROTOCOL_ONLY, startTestNode, type TestNode } from '../helpers/node.js';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({
    partyId: 'party-m',
    sink: PROTOCOL_ONLY,
    env: { RELAY_PROOFS_PER_MINUTE: '3' },
  });
}, 60_000);
afterAll(() => node?.destroy());

describe('asks for a mediator’s relay proofs', () => {
  const ask = () =>
    call(node.url, 'POST', '/v1/relayed/proofs', { json: { digests: ['ab'.repeat(32)] } });

  it('are answered up to the limit, then refused 429 with Retry-After until the bucket refills', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await ask();
      expect(res.status, JSON.stringify(res.body)).toBe(404);
      expect((res.body as { code: string }).code).toBe('unknown_message');
    }
    const limited = await ask();
    expect(limited.status).toBe(429);
    expect((limited.body as { code: string }).code).toBe('rate_limited');
    // Three a minute: the next ask is possible within 20 s.
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect((limited.body as { retry_after?: number }).retry_after).toBe(retryAfter);
  });
});
