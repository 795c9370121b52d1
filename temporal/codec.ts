// The payload codec: everything the node hands Temporal (workflow and activity inputs and results,
// updates, signals, queries) is encrypted with AES-256-GCM before it leaves the process, so the
// Temporal service and its UI hold ciphertext only. Runs in the client and the worker, outside the
// workflow sandbox; the codec endpoint (api/codec.ts) runs it for authorised operators.
import crypto from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
// A CommonJS module: under ESM only its default export is there.
import proto from '@temporalio/proto';
import type { CodecKeyRing } from './codec-keys.js';

/** The `encoding` of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata key naming the key a payload was encrypted under. */
export const METADATA_KEY_ID = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = proto.temporal.api.common.v1.Payload;

export type CodecErrorCode = 'codec_key_unknown' | 'codec_payload_invalid';

/** A payload this node cannot decrypt; `index` is its position in the batch. */
export class CodecError extends Error {
  readonly code: CodecErrorCode;
  readonly index: number;

  constructor(code: CodecErrorCode, index: number, message: string) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
    this.index = index;
  }
}

const text = (bytes: Uint8Array | null | undefined) =>
  bytes ? Buffer.from(bytes).toString('utf8') : undefined;

/** Whether a payload is one this codec (or another of the same format) encrypted. */
export function isEncrypted(payload: Payload): boolean {
  return text(payload.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;
}

/** The id of the key a payload was encrypted under, if it says. */
export function keyIdOf(payload: Payload): string | undefined {
  return text(payload.metadata?.[METADATA_KEY_ID]);
}

/**
 * AES-256-GCM over the whole protobuf-encoded payload (its metadata included), a random 96-bit IV
 * per payload; the result's data is IV ‖ ciphertext ‖ tag. Decoding passes payloads of any other
 * encoding through unchanged, so histories recorded before encryption still replay.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: CodecKeyRing) {
    if (!ring.keys.has(ring.currentId))
      throw new TypeError(`the current key ${ring.currentId} is not in the ring`);
  }

  /** The id new payloads are encrypted under. */
  get currentKeyId(): string {
    return this.ring.currentId;
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((p) => this.encrypt(p))));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(payloads.map((p, i) => this.decrypt(p, i))));
  }

  private encrypt(payload: Payload): Payload {
    const keyId = this.ring.currentId;
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.ring.keys.get(keyId)!, iv);
    const plain = ProtoPayload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [METADATA_KEY_ID]: Buffer.from(keyId),
      },
      data: sealed,
    };
  }

  private decrypt(payload: Payload, index: number): Payload {
    if (!isEncrypted(payload)) return payload;
    const keyId = keyIdOf(payload);
    if (!keyId)
      throw new CodecError('codec_payload_invalid', index, 'an encrypted payload without a key id');
    const key = this.ring.keys.get(keyId);
    if (!key)
      throw new CodecError(
        'codec_key_unknown',
        index,
        `a payload is encrypted under key id ${JSON.stringify(keyId)}, which is not in this node's ` +
          'key ring (TEMPORAL_CODEC_KEYS or TEMPORAL_CODEC_KEY_FILE): keep old keys listed after a rotation',
      );
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new CodecError('codec_payload_invalid', index, 'an encrypted payload is too short');
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new CodecError(
        'codec_payload_invalid',
        index,
        `an encrypted payload does not authenticate under key ${JSON.stringify(keyId)}: it was altered, or encrypted with another key of that id`,
      );
    }
    try {
      return ProtoPayload.decode(plain);
    } catch {
      throw new CodecError('codec_payload_invalid', index, 'a decrypted payload is not a Payload');
    }
  }
}
