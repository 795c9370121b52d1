// The Standard Webhooks signature of a notification POST: the specification's published vector,
// agreement with its reference library for both kinds of secret, and what the signature covers.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { webhookKey, webhookSignature } from '../../activities/notify-webhooks.js';

describe('webhookSignature', () => {
  it('gives the published test vector for a whsec_ secret', () => {
    const key = webhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(
      webhookSignature(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it.each([
    [
      'a whsec_ secret',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    ],
    // Any other secret is its UTF-8 text: the library takes it as that text in base64.
    [
      'a plain secret',
      'webhook-signing-secret-0123456789',
      Buffer.from('webhook-signing-secret-0123456789').toString('base64'),
    ],
  ])('agrees with the reference library for %s', (_what, secret, librarySecret) => {
    const body = '{"id":"party-a:01J:7","kind":"escalation"}';
    const id = 'party-a:01J:7';
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = webhookSignature(webhookKey(secret), id, timestamp, body);
    expect(signature).toBe(new Webhook(librarySecret).sign(id, new Date(timestamp * 1000), body));
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    };
    expect(new Webhook(librarySecret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('covers the id, the timestamp and every byte of the body', () => {
    const key = webhookKey('webhook-signing-secret-0123456789');
    const base = webhookSignature(key, 'a:1:1', 1_700_000_000, '{"level":1}');
    expect(webhookSignature(key, 'a:1:2', 1_700_000_000, '{"level":1}')).not.toBe(base);
    expect(webhookSignature(key, 'a:1:1', 1_700_000_001, '{"level":1}')).not.toBe(base);
    expect(webhookSignature(key, 'a:1:1', 1_700_000_000, '{"level":2}')).not.toBe(base);
    expect(webhookSignature(key, 'a:1:1', 1_700_000_000, '{"level":1}')).toBe(base);
  });
});
