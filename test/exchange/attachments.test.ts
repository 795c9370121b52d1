// Attachments over real HTTP between two complete nodes: uploads hashed while they arrive and
// refused with stable codes (storing nothing), idempotent re-uploads, fetches only of what a stored
// message names, the push to the partner before the message, partner uploads only with a token
// signed by a registered message key, and messages held (not lost) until their attachments arrive.
import crypto from 'node:crypto';
import http from 'node:http';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAttachment } from '../../db/attachments.js';
import { holdForAttachments } from '../../exchange/attachments.js';
import type { InboundSink } from '../../exchange/inbox.js';
import { sendMessage } from '../helpers/send.js';
import { redispatch } from '../../exchange/inbound-router.js';
import { ATTACHMENT_TOKEN_HEADER, signAttachmentToken } from '../../protocol/attachment-token.js';
import { generateSigningKey, loadSigningKey } from '../../protocol/keys.js';
import { signDraft } from '../../protocol/sign.js';
import type { Attachment } from '../../schemas/envelope.js';
import { call } from '../helpers/http.js';
import { PROTOCOL_ONLY, startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';

const MAX_BYTES = 64 * 1024;
const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

/** An invented, PDF-like file of some size: a header, random bytes, an end marker. */
function pdfLike(size: number): Buffer {
  const head = Buffer.from('%PDF-1.7\n% invented test document\n');
  const tail = Buffer.from('\n%%EOF\n');
  return Buffer.concat([head, crypto.randomBytes(size - head.length - tail.length), tail]);
}

let a: TestNode;
let b: TestNode;
/** What B's sink handed on, in order, with the digest of each attachment's stored bytes then. */
const dispatchedAtB: { digest: string; attachments: Record<string, string | undefined> }[] = [];

/** B's inbound sink: the protocol layer alone, with the same hold the request router applies. */
const holdingSink: InboundSink = {
  check: () => Promise.resolve(),
  async accept(m) {
    await holdForAttachments(b.database.pool, m);
    const attachments: Record<string, string | undefined> = {};
    for (const att of m.payload.attachments) {
      const stored = await getAttachment(b.database.pool, att.sha256);
      attachments[att.sha256] = stored && sha256(stored.content);
    }
    if (!dispatchedAtB.some((d) => d.digest === m.digest))
      dispatchedAtB.push({ digest: m.digest, attachments });
  },
};

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', ATTACHMENT_MAX_BYTES: String(MAX_BYTES) };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', sink: PROTOCOL_ONLY, env }),
    startTestNode({
      partyId: 'party-b',
      sink: holdingSink,
      // B takes no CSV: A's CSV attachments are refused there.
      env: { ...env, ATTACHMENT_MEDIA_TYPES: 'application/pdf,image/png,text/plain' },
    }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

async function put(
  node: TestNode,
  bytes: Buffer,
  opts: {
    id?: string;
    type?: string | null;
    token?: string;
    headers?: Record<string, string>;
  } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.type !== null) headers['content-type'] = opts.type ?? 'application/pdf';
  if (opts.token !== '')
    headers.authorization = `Bearer ${opts.token ?? (await node.token('officer'))}`;
  const res = await fetch(`${node.url}/v1/attachments/${opts.id ?? `sha256:${sha256(bytes)}`}`, {
    method: 'PUT',
    headers,
    body: bytes,
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: (text ? JSON.parse(text) : undefined) as Record<string, unknown>,
  };
}

async function stored(node: TestNode, digest: string): Promise<number> {
  const { rows } = await node.database.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM attachments WHERE sha256 = $1',
    [digest],
  );
  return rows[0]!.n;
}

async function fetchAttachment(node: TestNode, digest: string, role: 'officer' | 'supervisor') {
  const res = await fetch(`${node.url}/v1/attachments/sha256:${digest}`, {
    headers: { authorization: `Bearer ${await node.token(role)}` },
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

async function outboxEntry(node: TestNode, msgId: string) {
  const res = await call(node.url, 'GET', '/v1/outbox?limit=1000', {
    token: await node.token('supervisor'),
  });
  expect(res.status).toBe(200);
  return (res.body.items as { msgId: string; status: string; lastError: string | null }[]).find(
    (m) => m.msgId === msgId,
  );
}

const listed = (bytes: Buffer, media_type: string, name: string): Attachment => ({
  sha256: sha256(bytes),
  size: bytes.length,
  media_type,
  name,
});

/** Sends a body without Content-Length (chunked), chunk by chunk, and returns the answer. */
function putChunked(
  node: TestNode,
  path: string,
  token: string,
  chunk: Buffer,
  chunks: number,
): Promise<{ status: number; body: Record<string, unknown>; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${node.url}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/pdf', authorization: `Bearer ${token}` },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: JSON.parse(text) as Record<string, unknown>,
          connection: res.headers.connection,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', () => undefined); // the server stops reading: later writes may fail
    let sent = 0;
    const next = (): void => {
      if (sent === chunks || req.destroyed) {
        req.end();
        return;
      }
      sent += 1;
      req.write(chunk, () => setTimeout(next, 2));
    };
    next();
  });
}

describe('uploads by officers', () => {
  it('stores an upload under its digest: 201 the first time, 200 for the same bytes again', async () => {
    const bytes = pdfLike(20_000);
    const digest = sha256(bytes);
    const first = await put(a, bytes);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.headers.get('location')).toBe(`/v1/attachments/sha256:${digest}`);
    expect(first.body).toMatchObject({
      sha256: digest,
      size: 20_000,
      media_type: 'application/pdf',
    });
    const row = await getAttachment(a.database.pool, digest);
    expect(row && sha256(row.content)).toBe(digest);

    const again = await put(a, bytes);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ sha256: digest, size: 20_000 });
    expect(await stored(a, digest)).toBe(1);

    // A media type with parameters names the same type.
    const text = Buffer.from('Sketch notes, invented.\n');
    const plain = await put(a, text, { type: 'text/plain; charset=utf-8' });
    expect(plain.status).toBe(201);
    expect(plain.body.media_type).toBe('text/plain');
  });

  it('refuses with stable codes, and stores nothing', async () => {
    const bytes = pdfLike(4000);
    const other = sha256(pdfLike(4000));
    const big = pdfLike(MAX_BYTES + 1);
    const cases: [string, () => ReturnType<typeof put>, number, string, string][] = [
      [
        'bytes of another digest',
        () => put(a, bytes, { id: `sha256:${other}` }),
        400,
        'digest_mismatch',
        other,
      ],
      ['one byte over the limit', () => put(a, big), 413, 'too_large', sha256(big)],
      [
        'a media type not allowed',
        () => put(a, bytes, { type: 'image/svg+xml' }),
        415,
        'unsupported_media_type',
        sha256(bytes),
      ],
      [
        'no Content-Type',
        () => put(a, bytes, { type: null }),
        415,
        'unsupported_media_type',
        sha256(bytes),
      ],
      [
        'a Content-Encoding',
        () => put(a, bytes, { headers: { 'content-encoding': 'gzip' } }),
        415,
        'unsupported_media_type',
        sha256(bytes),
      ],
      [
        'an id in capitals',
        () => put(a, bytes, { id: `sha256:${sha256(bytes).toUpperCase()}` }),
        400,
        'schema_invalid',
        sha256(bytes),
      ],
      [
        'another algorithm',
        () => put(a, bytes, { id: `md5:${sha256(bytes).slice(0, 32)}` }),
        400,
        'schema_invalid',
        sha256(bytes),
      ],
      ['no token', () => put(a, bytes, { token: '' }), 401, 'token_missing', sha256(bytes)],
    ];
    for (const [what, run, status, code, digest] of cases) {
      const res = await run();
      expect(res.status, what).toBe(status);
      expect(res.body.code, what).toBe(code);
      expect(await stored(a, digest), what).toBe(0);
    }
    const supervisor = await put(a, bytes, { token: await a.token('supervisor') });
    expect([supervisor.status, supervisor.body.code]).toEqual([403, 'forbidden']);
    expect(await stored(a, sha256(bytes))).toBe(0);
  });

  it('stops reading a body sent without a length as soon as it passes the limit', async () => {
    const chunk = crypto.randomBytes(16 * 1024);
    // 64 chunks of 16 KiB: 1 MiB if it were read to the end, 16 times the limit.
    const res = await putChunked(
      a,
      `/v1/attachments/sha256:${'0'.repeat(64)}`,
      await a.token('officer'),
      chunk,
      64,
    );
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('too_large');
    expect(res.connection).toBe('close');
    expect(await stored(a, '0'.repeat(64))).toBe(0);
  });

  it('serves an attachment only once a stored message names it, to officers and supervisors', async () => {
    const bytes = pdfLike(3000);
    const digest = sha256(bytes);
    expect((await put(a, bytes)).status).toBe(201);
    const unnamed = await call(a.url, 'GET', `/v1/attachments/sha256:${digest}`, {
      token: await a.token('officer'),
    });
    expect([unnamed.status, unnamed.body.code]).toEqual([404, 'unknown_attachment']);
    const unknown = await call(a.url, 'GET', `/v1/attachments/sha256:${'1'.repeat(64)}`, {
      token: await a.token('officer'),
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'unknown_attachment']);
    const admin = await call(a.url, 'GET', `/v1/attachments/sha256:${digest}`, {
      token: await a.token('admin'),
    });
    expect([admin.status, admin.body.code]).toEqual([403, 'forbidden']);
  });
});

describe('attachments between two nodes', () => {
  it('pushes the attachment before the message: B holds the exact bytes when the message is handed on', async () => {
    const bytes = pdfLike(48_000);
    const digest = sha256(bytes);
    expect((await put(a, bytes)).status).toBe(201);
    const sent = await sendMessage(a, {
      kind: 'decline',
      aud: 'party-b',
      req_id: ulid(),
      body: { reason: 'The records are in the attached scan.' },
      attachments: [listed(bytes, 'application/pdf', 'MF-0142_record.pdf')],
    });
    await eventually(
      async () =>
        (await outboxEntry(a, sent.payload.msg_id))?.status === 'delivered' ? true : undefined,
      30_000,
      'delivery',
    );
    const atB = await getAttachment(b.database.pool, digest);
    expect(atB && sha256(atB.content)).toBe(digest);
    expect(atB?.media_type).toBe('application/pdf');
    const handedOn = await eventually(
      () => Promise.resolve(dispatchedAtB.find((d) => d.digest === sent.digest)),
      10_000,
      'dispatch at B',
    );
    expect(handedOn.attachments).toEqual({ [digest]: digest });

    const fetched = await fetchAttachment(b, digest, 'officer');
    expect(fetched.status).toBe(200);
    expect(fetched.type).toBe('application/pdf');
    expect(sha256(fetched.bytes)).toBe(digest);
    // No request behind the message here: it may be of any type, so only officers (who see the
    // content of every type, domain/access-policy.ts) read its file.
    expect((await fetchAttachment(b, digest, 'supervisor')).status).toBe(403);
    // A, the sender, serves it too now that its outbox names it.
    expect((await fetchAttachment(a, digest, 'officer')).status).toBe(200);
  });

  it('refuses partner uploads without a valid token (401), and stores nothing', async () => {
    const bytes = pdfLike(2000);
    const digest = sha256(bytes);
    const url = `${b.url}/v1/partner-attachments/sha256:${digest}`;
    const claims = {
      iss: 'party-a',
      aud: 'party-b',
      sha256: digest,
      size: bytes.length,
      media_type: 'application/pdf',
    };
    const aKey = a.exchange.outbox.keyring.signerFor('request');
    const stranger = await loadSigningKey(
      await generateSigningKey({ alg: 'Ed25519', roles: ['message', 'receipt'] }),
    );
    const valid = await signAttachmentToken(aKey, claims);
    const cases: [string, string | undefined, number, string][] = [
      ['no token', undefined, 401, 'token_missing'],
      ['not a JWS', 'not-a-token', 401, 'token_invalid'],
      [
        'a tampered signature',
        valid.slice(0, -4) + (valid.endsWith('AAAA') ? 'BBBB' : 'AAAA'),
        401,
        'signature_invalid',
      ],
      ['a key no registry holds', await signAttachmentToken(stranger, claims), 401, 'unknown_key'],
      [
        'another audience',
        await signAttachmentToken(aKey, { ...claims, aud: 'party-c' }),
        403,
        'wrong_audience',
      ],
      [
        'another party than the key’s',
        await signAttachmentToken(aKey, { ...claims, iss: 'party-c' }),
        403,
        'issuer_mismatch',
      ],
      [
        'an expired token',
        await signAttachmentToken(aKey, claims, new Date(Date.now() - 3_600_000)),
        401,
        'token_expired',
      ],
      [
        'another attachment',
        await signAttachmentToken(aKey, { ...claims, sha256: '2'.repeat(64) }),
        400,
        'digest_mismatch',
      ],
    ];
    for (const [what, token, status, code] of cases) {
      const res = await fetch(url, {
        method: 'PUT',
        headers: {
          'content-type': 'application/pdf',
          ...(token ? { [ATTACHMENT_TOKEN_HEADER]: token } : {}),
        },
        body: bytes,
      });
      const problem = (await res.json()) as { code: string };
      expect([res.status, problem.code], what).toEqual([status, code]);
    }
    expect(await stored(b, digest)).toBe(0);

    // The bytes must match the size the token signs, and its media type.
    const wrongSize = await fetch(url, {
      method: 'PUT',
      headers: {
        'content-type': 'application/pdf',
        [ATTACHMENT_TOKEN_HEADER]: await signAttachmentToken(aKey, { ...claims, size: 1999 }),
      },
      body: bytes,
    });
    expect(wrongSize.status).toBe(400);
    expect(await stored(b, digest)).toBe(0);

    const head = (token: string) =>
      fetch(url, { method: 'HEAD', headers: { [ATTACHMENT_TOKEN_HEADER]: token } });
    expect((await head(valid)).status).toBe(404);
    const ok = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/pdf', [ATTACHMENT_TOKEN_HEADER]: valid },
      body: bytes,
    });
    expect(ok.status).toBe(201);
    expect((await head(valid)).status).toBe(200);
    const again = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/pdf', [ATTACHMENT_TOKEN_HEADER]: valid },
      body: bytes,
    });
    expect(again.status).toBe(200);
    expect(await stored(b, digest)).toBe(1);
  });

  it('holds a message whose attachment is missing, with later messages of its request, until it arrives', async () => {
    const bytes = pdfLike(10_000);
    const digest = sha256(bytes);
    const reqId = ulid();
    const key = a.exchange.outbox.keyring.signerFor('decline');
    // Envelopes straight to B's inbox, as a partner that skipped the push would send them.
    const first = await signDraft(
      {
        kind: 'acknowledgement',
        iss: 'party-a',
        aud: 'party-b',
        req_id: reqId,
        body: { note: 'Scan attached.' },
        attachments: [listed(bytes, 'application/pdf', 'scan.pdf')],
      },
      key,
    );
    const second = await signDraft(
      { kind: 'decline', iss: 'party-a', aud: 'party-b', req_id: reqId, body: { reason: 'Done.' } },
      key,
    );
    for (const m of [first, second]) {
      const res = await call(b.url, 'POST', '/v1/messages', {
        raw: m.token,
        headers: { 'content-type': 'application/jose' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    }
    const undispatched = async () => {
      const { rows } = await b.database.pool.query<{ digest: string }>(
        'SELECT digest FROM inbox_messages WHERE req_id = $1 AND dispatched_at IS NULL ORDER BY received_at',
        [reqId],
      );
      return rows.map((r) => r.digest);
    };
    // Stored and receipted, but not handed on: the second waits behind the first.
    expect(await undispatched()).toEqual([first.digest, second.digest]);
    expect(dispatchedAtB.map((d) => d.digest)).not.toContain(first.digest);
    expect(dispatchedAtB.map((d) => d.digest)).not.toContain(second.digest);
    // A restart's redispatch leaves them waiting too.
    await redispatch(b.database.pool, holdingSink);
    expect(await undispatched()).toEqual([first.digest, second.digest]);
    // Officers see nothing of a file that has not arrived.
    expect((await fetchAttachment(b, digest, 'officer')).status).toBe(404);

    const res = await fetch(`${b.url}/v1/partner-attachments/sha256:${digest}`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/pdf',
        [ATTACHMENT_TOKEN_HEADER]: await signAttachmentToken(key, {
          iss: 'party-a',
          aud: 'party-b',
          sha256: digest,
          size: bytes.length,
          media_type: 'application/pdf',
        }),
      },
      body: bytes,
    });
    expect(res.status).toBe(201);
    await eventually(
      async () => ((await undispatched()).length === 0 ? true : undefined),
      10_000,
      'held messages handed on',
    );
    const order = dispatchedAtB.map((d) => d.digest);
    expect(order.indexOf(first.digest)).toBeLessThan(order.indexOf(second.digest));
    expect(dispatchedAtB.find((d) => d.digest === first.digest)?.attachments).toEqual({
      [digest]: digest,
    });
    const fetched = await fetchAttachment(b, digest, 'officer');
    expect(sha256(fetched.bytes)).toBe(digest);
  });

  it('rejects a message whose attachment the partner refuses, without sending it', async () => {
    const csv = Buffer.from('site,individuals_min,individuals_max\nS-17,3,5\n');
    expect((await put(a, csv, { type: 'text/csv' })).status).toBe(201);
    const sent = await sendMessage(a, {
      kind: 'decline',
      aud: 'party-b',
      req_id: ulid(),
      body: { reason: 'Table attached.' },
      attachments: [listed(csv, 'text/csv', 'sites.csv')],
    });
    const entry = await eventually(
      async () => {
        const m = await outboxEntry(a, sent.payload.msg_id);
        return m?.status === 'rejected' ? m : undefined;
      },
      20_000,
      'rejection',
    );
    expect(entry.lastError).toBe('attachment_unsupported_media_type');
    const { rows } = await b.database.pool.query('SELECT 1 FROM inbox_messages WHERE msg_id = $1', [
      sent.payload.msg_id,
    ]);
    expect(rows).toHaveLength(0);
    expect(await stored(b, sha256(csv))).toBe(0);
  });
});
