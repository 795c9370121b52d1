// The payload codec alone: AES-256-GCM over whole payloads, key rotation, refusals, passthrough.
import crypto from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { buildKeyRing, type CodecKeyRing } from '../../temporal/codec-keys.js';
import {
  CodecError,
  EncryptionCodec,
  ENCRYPTED_ENCODING,
  isEncrypted,
  keyIdOf,
} from '../../temporal/codec.js';

const newKey = () => crypto.randomBytes(32).toString('base64');

function ring(...entries: { id: string; key: string; current?: boolean }[]): CodecKeyRing {
  const built = buildKeyRing(entries);
  if (!built.ok) throw new Error(built.problems.join('; '));
  return built.ring;
}

const k0 = { id: 'k0', key: newKey() };
const k1 = { id: 'k1', key: newKey() };
const person = { title: 'Remains of MARKER-7f3a found near the quarry', ids: ['R-0412'] };
const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

describe('EncryptionCodec', () => {
  it('encrypts a payload so that nothing of it shows, and decodes it back to the same value', async () => {
    const codec = new EncryptionCodec(ring(k0));
    const [encrypted] = await codec.encode([payload(person)]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata!['encryption-key-id'])).toBe('k0');
    expect(Object.keys(encrypted!.metadata!).sort()).toEqual(['encoding', 'encryption-key-id']);
    expect(text(encrypted!.data)).not.toContain('MARKER-7f3a');
    expect(text(encrypted!.data)).not.toContain('json/plain');

    const [decoded] = await codec.decode([encrypted!]);
    expect(text(decoded!.metadata!.encoding)).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(person);
  });

  it('lays the data out as a 12-byte IV, the ciphertext and a 16-byte tag, fresh IV each time', async () => {
    const codec = new EncryptionCodec(ring(k0));
    const original = payload(person);
    const [a, b] = await codec.encode([original, original]);
    expect(Buffer.from(a!.data!).subarray(0, 12)).not.toEqual(
      Buffer.from(b!.data!).subarray(0, 12),
    );
    // Decrypt by hand with the documented layout: the plaintext is the protobuf-encoded Payload.
    const data = Buffer.from(a!.data!);
    const decipher = crypto.createDecipheriv(
      'aes-256-gcm',
      Buffer.from(k0.key, 'base64'),
      data.subarray(0, 12),
    );
    decipher.setAuthTag(data.subarray(data.length - 16));
    const plain = Buffer.concat([decipher.update(data.subarray(12, -16)), decipher.final()]);
    expect(plain.toString('utf8')).toContain('MARKER-7f3a');
    expect(plain.toString('utf8')).toContain('json/plain');
  });

  it('after a rotation, encodes under the new key and still decodes what the old key encrypted', async () => {
    const before = new EncryptionCodec(ring(k0));
    const [old] = await before.encode([payload(person)]);

    const after = new EncryptionCodec(ring(k1, k0));
    expect(after.currentKeyId).toBe('k1');
    const [fresh] = await after.encode([payload(person)]);
    expect(keyIdOf(fresh!)).toBe('k1');
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([person, person]);
  });

  it('uses the key marked current when it is not the first', async () => {
    const codec = new EncryptionCodec(ring(k1, { ...k0, current: true }));
    const [encrypted] = await codec.encode([payload(1)]);
    expect(keyIdOf(encrypted!)).toBe('k0');
  });

  it('refuses a payload under a key id it does not hold with codec_key_unknown, naming the id', async () => {
    const [foreign] = await new EncryptionCodec(ring(k1)).encode([payload(person)]);
    const codec = new EncryptionCodec(ring(k0));
    const err = await codec.decode([payload('fine'), foreign!]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodecError);
    expect(err).toMatchObject({ code: 'codec_key_unknown', index: 1 });
    expect((err as Error).message).toMatch(/key id "k1"/);
    expect((err as Error).message).toMatch(/TEMPORAL_CODEC_KEYS/);
  });

  it('refuses altered ciphertext, an altered tag, and another key under the same id with codec_payload_invalid', async () => {
    const codec = new EncryptionCodec(ring(k0));
    const [encrypted] = await codec.encode([payload(person)]);
    const flip = (at: number) => {
      const data = Buffer.from(encrypted!.data!);
      data[at] = data[at]! ^ 0x01;
      return { ...encrypted!, data };
    };
    for (const altered of [flip(20), flip(encrypted!.data!.length - 1), flip(0)]) {
      await expect(codec.decode([altered])).rejects.toMatchObject({
        code: 'codec_payload_invalid',
      });
    }
    const impostor = new EncryptionCodec(ring({ id: 'k0', key: newKey() }));
    await expect(impostor.decode([encrypted!])).rejects.toMatchObject({
      code: 'codec_payload_invalid',
      message: expect.stringMatching(/does not authenticate under key "k0"/),
    });
    const short = { ...encrypted!, data: Buffer.alloc(10) };
    await expect(codec.decode([short])).rejects.toMatchObject({ code: 'codec_payload_invalid' });
    const { ['encryption-key-id']: _, ...noKeyId } = encrypted!.metadata!;
    await expect(codec.decode([{ ...encrypted!, metadata: noKeyId }])).rejects.toMatchObject({
      code: 'codec_payload_invalid',
    });
  });

  it('passes payloads that are not encrypted through decode unchanged', async () => {
    const codec = new EncryptionCodec(ring(k0));
    const plain = [payload(person), payload(undefined), payload(new Uint8Array([1, 2, 3]))];
    const decoded = await codec.decode(plain);
    expect(decoded).toEqual(plain);
    expect(decoded.some(isEncrypted)).toBe(false);
  });

  it('round-trips payloads without data (undefined) and binary ones', async () => {
    const codec = new EncryptionCodec(ring(k0));
    const originals = [payload(undefined), payload(new Uint8Array([0, 255, 7]))];
    const decoded = await codec.decode(await codec.encode(originals));
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([
      undefined,
      new Uint8Array([0, 255, 7]),
    ]);
  });
});
