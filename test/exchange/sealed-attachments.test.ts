// Sealed files: between partners registered as sealing their content, a message's attachment
// travels sealed to the recipient's encryption key, like the message's personal members. Everything
// A sends B goes through a recorder here, so the test sees exactly what crossed the wire.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader } from 'jose';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAttachment } from '../../db/attachments.js';
import type { Attachment } from '../../schemas/envelope.js';
import { call } from '../helpers/http.js';
import { PROTOCOL_ONLY, startTestNode, type TestNode } from '../helpers/node.js';
import { eventually } from '../helpers/partners.js';
import { sendMessage } from '../helpers/send.js';

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');
const MARKER = 'SEALED-FILE-Grave-of-Ivan-Horvat';
const FILE_NAME = 'exhumation-report-Horvat.pdf';

/** An invented PDF-like file whose text names the person it is about. */
function report(): Buffer {
  return Buffer.concat([
    Buffer.from(`%PDF-1.7\n% ${MARKER}\n`),
    crypto.randomBytes(20_000),
    Buffer.from('\n%%EOF\n'),
  ]);
}

let a: TestNode;
let b: TestNode;
let recorder: http.Server;
let recorderUrl: string;
/** Every request A sent to B: method, path, content type and the exact body bytes. */
const crossed: { method: string; path: string; type: string | undefined; body: Buffer }[] = [];

/** Records the request, passes it to B as it is, and passes B's answer back. */
function startRecorder(): Promise<void> {
  recorder = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      crossed.push({
        method: req.method ?? '',
        path: req.url ?? '',
        type: req.headers['content-type'],
        body,
      });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k))
          headers[k] = v;
      void fetch(`${b.url}${req.url ?? ''}`, {
        method: req.method ?? 'GET',
        headers,
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
      }).then(
        async (answer) => {
          const bytes = Buffer.from(await answer.arrayBuffer());
          const type = answer.headers.get('content-type');
          res.writeHead(answer.status, type ? { 'content-type': type } : {});
          res.end(bytes);
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  return new Promise((resolve) =>
    recorder.listen(0, '127.0.0.1', () => {
      recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

/** Registers `partner` on `node` from its published keys, as sealing its content. */
async function registerSealing(node: TestNode, partner: TestNode, inboxUrl: string) {
  const jwks = await call(partner.url, 'GET', '/.well-known/jwks.json');
  const res = await call(node.url, 'POST', '/v1/admin/partners', {
    token: await node.token('admin', 'admin-ops'),
    json: {
      partyId: partner.config.partyId,
      name: `Node of ${partner.config.partyId}`,
      inboxUrl,
      jwks: jwks.body,
      sealContent: true,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.sealContent).toBe(true);
}

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1' };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', sink: PROTOCOL_ONLY, env }),
    startTestNode({ partyId: 'party-b', sink: PROTOCOL_ONLY, env }),
  ]);
  await startRecorder();
  await registerSealing(a, b, `${recorderUrl}/v1/messages`);
  await registerSealing(b, a, `${a.url}/v1/messages`);
});
afterAll(async () => {
  recorder?.close();
  await Promise.all([a?.destroy(), b?.destroy()]);
});

async function delivered(node: TestNode, msgId: string) {
  const res = await call(node.url, 'GET', '/v1/outbox?limit=1000', {
    token: await node.token('supervisor'),
  });
  const item = (res.body.items as { msgId: string; status: string }[]).find(
    (m) => m.msgId === msgId,
  );
  return item?.status === 'delivered' ? item : undefined;
}

describe('a file between partners that seal their content', () => {
  it('crosses the wire sealed to B’s key, and B holds the exact file under its name', async () => {
    const bytes = report();
    const digest = sha256(bytes);
    const up = await fetch(`${a.url}/v1/attachments/sha256:${digest}`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/pdf',
        authorization: `Bearer ${await a.token('officer')}`,
      },
      body: bytes,
    });
    expect(up.status).toBe(201);
    const listed: Attachment = {
      sha256: digest,
      size: bytes.length,
      media_type: 'application/pdf',
      name: FILE_NAME,
    };
    const sent = await sendMessage(a, {
      kind: 'decline',
      aud: 'party-b',
      req_id: ulid(),
      body: { reason: `No further records of ${MARKER}` },
      attachments: [listed],
    });
    await eventually(() => delivered(a, sent.payload.msg_id), 30_000, 'delivery to B');

    // What crossed: the file as a JWE to B's encryption key, the message with `sealed`.
    const bEncKid = (
      (await call(b.url, 'GET', '/.well-known/jwks.json')).body.keys as {
        kid: string;
        use: string;
      }[]
    ).find((k) => k.use === 'enc')!.kid;
    const upload = crossed.find((c) => c.method === 'PUT' && c.path.includes(digest));
    expect(upload?.type).toBe('application/jose');
    expect(decodeProtectedHeader(upload!.body.toString('latin1'))).toMatchObject({
      alg: 'ECDH-ES+A256KW',
      enc: 'A256GCM',
      kid: bEncKid,
      typ: 'parley-file+jwe',
    });
    const message = crossed.find((c) => c.path === '/v1/messages')!;
    const payload64 = message.body.toString('utf8').split('.')[1]!;
    const wire = JSON.parse(Buffer.from(payload64, 'base64url').toString('utf8')) as {
      sealed?: string;
      attachments: Attachment[];
    };
    expect(wire.sealed).toBeDefined();
    expect(wire.attachments).toEqual([{ ...listed, name: digest }]);
    for (const c of crossed) {
      expect(c.body.includes(MARKER), `${c.method} ${c.path}`).toBe(false);
      expect(c.body.includes(FILE_NAME), `${c.method} ${c.path}`).toBe(false);
    }

    // B opened both: the exact bytes, and the message with the file's real name.
    const atB = await getAttachment(b.database.pool, digest);
    expect(atB && sha256(atB.content)).toBe(digest);
    expect(atB?.media_type).toBe('application/pdf');
    const { rows } = await b.database.pool.query<{ payload: { attachments: Attachment[] } }>(
      'SELECT payload FROM inbox_messages WHERE digest = $1',
      [sent.digest],
    );
    expect(rows[0]?.payload.attachments).toEqual([listed]);
  });

  it('refuses a file in clear from a party that seals, and stores nothing', async () => {
    // A's own upload token is valid, but the bytes come in clear.
    const { signAttachmentToken } = await import('../../protocol/attachment-token.js');
    const bytes = report();
    const digest = sha256(bytes);
    const token = await signAttachmentToken(a.exchange.outbox.keyring.signerFor('request'), {
      iss: 'party-a',
      aud: 'party-b',
      sha256: digest,
      size: bytes.length,
      media_type: 'application/pdf',
    });
    const res = await fetch(`${b.url}/v1/partner-attachments/sha256:${digest}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/pdf', 'parley-attachment-token': token },
      body: bytes,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('not_sealed');
    expect(await getAttachment(b.database.pool, digest)).toBeUndefined();
  });
});
