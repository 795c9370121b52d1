// The audit log between two live nodes: every message, receipt, registry change, refused statement
// of a party and timeline event is logged (input no party can be held to is not); checkpoints are
// countersigned by the partner; a forked history is caught; and a request's evidence bundle
// verifies offline, while any changed byte is named.
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvidenceBundle } from '../../audit/bundle.js';
import { AuditLog } from '../../audit/service.js';
import { signCheckpoint } from '../../audit/checkpoint.js';
import { integrateAudit } from '../../db/audit.js';
import { verifyBundle, type TrustAnchors } from '../../audit/verify-bundle.js';
import { loadKeyring } from '../../protocol/keyring.js';
import { signDraft } from '../../protocol/sign.js';
import { EvidenceBundle } from '../../schemas/evidence.js';
import { call } from '../helpers/http.js';
import { startTestNode, testLogger, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { finalFor, subjectFor } from '../helpers/domain.js';
import { untilIn } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let reqId: string;
let trust: TrustAnchors;
const SUBJECT_TITLE = 'Minefield records near the northern ford, sector 7';

async function act(node: TestNode, officer: string, route: string, json: unknown) {
  const res = await call(node.url, 'POST', `/v1/requests/${reqId}/${route}`, {
    token: await node.token('officer', officer),
    json,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function kidsOf(node: TestNode): Promise<string[]> {
  const res = await call(node.url, 'GET', '/.well-known/jwks.json');
  return (res.body.keys as { kid: string }[]).map((k) => k.kid);
}

async function entries(
  node: TestNode,
): Promise<{ idx: number; entry: Record<string, unknown>; text: string }[]> {
  await integrateAudit(node.database.pool); // what is committed, with its index
  const { rows } = await node.database.pool.query<{ idx: string; entry: string }>(
    'SELECT idx, entry FROM audit_log ORDER BY idx',
  );
  return rows.map((r) => ({ idx: Number(r.idx), entry: JSON.parse(r.entry), text: r.entry }));
}

async function bundleFrom(node: TestNode): Promise<EvidenceBundle> {
  const res = await call(node.url, 'GET', `/v1/requests/${reqId}/evidence`, {
    token: await node.token('supervisor'),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return EvidenceBundle.parse(res.body);
}

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', AUDIT_CHECKPOINT_SECONDS: '1' };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  trust = { 'party-a': await kidsOf(a), 'party-b': await kidsOf(b) };

  const created = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer', 'officer-amira'),
    json: {
      type: 'mine_map',
      counterparty: 'party-b',
      priority: 'routine',
      subject: subjectFor('mine_map', SUBJECT_TITLE),
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  reqId = created.body.id as string;
  await untilIn(b, reqId, 'delivered');
  await act(b, 'officer-bogdan', 'acknowledge', {});
  await untilIn(a, reqId, 'acknowledged');
  await act(b, 'officer-bogdan', 'responses', finalFor('mine_map'));
  await untilIn(a, reqId, 'answered');
  await act(a, 'officer-amira', 'close', { outcome: 'accepted' });
  await untilIn(b, reqId, 'closed');
}, 120_000);
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('the audit log', () => {
  it('holds a leaf for every message, receipt, registry change, refused statement of a party and timeline event, with no personal data', async () => {
    // Input no party can be held to is refused without a leaf: it is counted and sampled instead.
    const refused = await call(a.url, 'POST', '/v1/messages', {
      headers: { 'content-type': 'application/jose' },
      raw: 'not.a.message',
    });
    expect(refused.status).toBe(400);
    const sampled = await eventually(async () => {
      const { rows } = await a.database.pool.query<{ digest: string }>(
        "SELECT digest FROM inbox_rejections WHERE code = 'malformed_envelope'",
      );
      return rows[0];
    });
    // A fresh message signed by B, refused for what it says (no such request): B said it, a leaf.
    const stray = await signDraft(
      { kind: 'decline', iss: 'party-b', aud: 'party-a', req_id: ulid(), body: { reason: 'x' } },
      b.exchange.outbox.keyring.signerFor('decline'),
    );
    const strayAnswer = await call(a.url, 'POST', '/v1/messages', {
      headers: { 'content-type': 'application/jose' },
      raw: stray.token,
    });
    expect(strayAnswer.body).toMatchObject({ code: 'unknown_request' });
    const log = await eventually(async () => {
      const all = await entries(a);
      return all.some((e) => e.entry.type === 'rejected') ? all : undefined;
    });
    expect(log.filter((e) => e.entry.type === 'rejected').map((e) => e.entry)).toEqual([
      expect.objectContaining({ digest: stray.digest, code: 'unknown_request', via: 'online' }),
    ]);
    expect(log.some((e) => e.text.includes(sampled.digest))).toBe(false);
    const types = new Set(log.map((e) => e.entry.type));
    for (const t of [
      'registry_change',
      'message_sent',
      'receipt_received',
      'message_received',
      'receipt_signed',
      'request_event',
      'rejected',
    ])
      expect(types, t).toContain(t);
    // Indices are dense from 0.
    expect(log.map((e) => e.idx)).toEqual(log.map((_, i) => i));
    // Each of A's sent messages of the request is logged once, by its digest.
    const { rows: sent } = await a.database.pool.query<{ digest: string }>(
      'SELECT digest FROM outbox_messages WHERE req_id = $1',
      [reqId],
    );
    for (const m of sent)
      expect(
        log.filter((e) => e.entry.type === 'message_sent' && e.entry.digest === m.digest),
      ).toHaveLength(1);
    // Every timeline event of the request is in the log once.
    const { rows: events } = await a.database.pool.query<{ seq: number }>(
      'SELECT seq FROM request_events WHERE req_id = $1',
      [reqId],
    );
    const logged = log.filter((e) => e.entry.type === 'request_event' && e.entry.req_id === reqId);
    expect(logged.map((e) => e.entry.seq).sort()).toEqual(events.map((e) => e.seq).sort());
    // Digests and ids only: neither the subject nor an officer's name is in any leaf.
    for (const e of [...log, ...(await entries(b))]) {
      expect(e.text).not.toContain('northern ford');
      expect(e.text).not.toContain('officer-');
    }
  });

  it('refuses UPDATE, DELETE and TRUNCATE, even from the superuser the node connects as', async () => {
    const pool = a.database.pool;
    const before = await entries(a);
    await expect(pool.query("UPDATE audit_log SET entry = '{}' WHERE idx = 0")).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query('DELETE FROM audit_log WHERE idx = 0')).rejects.toThrow(/append-only/);
    await expect(pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect((await entries(a)).slice(0, before.length)).toEqual(before);
  });

  it('has B countersign A’s checkpoints, and A B’s', async () => {
    for (const [node, witness] of [
      [a, 'party-b'],
      [b, 'party-a'],
    ] as const) {
      const cp = await eventually(
        async () => {
          const res = await call(node.url, 'GET', '/v1/audit/checkpoints', {
            token: await node.token('supervisor'),
          });
          const latest = res.body.checkpoints[0];
          return latest?.cosignatures.some((c: { witness: string }) => c.witness === witness)
            ? latest
            : undefined;
        },
        30_000,
        `${witness} cosignature`,
      );
      expect(cp.size).toBeGreaterThan(0);
      expect(cp.root).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

describe('the evidence bundle', () => {
  it('verifies offline for the whole lifecycle, on both sides', async () => {
    for (const node of [a, b]) {
      const bundle = await bundleFrom(node);
      expect(bundle.manifest.status).toBe('closed');
      expect(bundle.envelopes.map((e) => e.direction).sort()).toContain('sent');
      expect(bundle.log.checkpoint.cosignatures.length).toBeGreaterThan(0);
      const report = await verifyBundle(bundle, trust);
      expect(report.verdicts.filter((v) => !v.ok)).toEqual([]);
      expect(report.ok).toBe(true);
      // Every envelope, receipt and timeline event got its own verdict.
      const items = report.verdicts.map((v) => v.item);
      expect(items.filter((i) => i.startsWith('envelope '))).toHaveLength(bundle.envelopes.length);
      expect(items.filter((i) => i.startsWith('receipt '))).toHaveLength(bundle.receipts.length);
      expect(items.filter((i) => i.startsWith('timeline event '))).toHaveLength(
        bundle.timeline.length,
      );
    }
  });

  it('fails, naming the item, when any single byte of any item changes', async () => {
    const original = await bundleFrom(a);
    // One character changed for another of its kind (hex stays hex, base64url stays base64url).
    const flip = (s: string, at: number) => {
      const c = s[at]!;
      const other = /[0-8]/.test(c)
        ? String(Number(c) + 1)
        : c === '9'
          ? '0'
          : /[a-e]/.test(c)
            ? String.fromCharCode(c.charCodeAt(0) + 1)
            : c === 'f'
              ? 'a'
              : c === 'A'
                ? 'B'
                : 'A';
      return s.slice(0, at) + other + s.slice(at + 1);
    };
    type Case = [string, (b: EvidenceBundle) => void, RegExp];
    const cases: Case[] = [];
    const withToken = <T extends object>(item: T) => item as Extract<T, { token: string }>;
    original.envelopes.forEach((e, i) => {
      const { token } = withToken(e);
      for (const at of [5, token.indexOf('.') + 10, token.length - 5])
        cases.push([
          `envelope ${i} @${at}`,
          (b) => (withToken(b.envelopes[i]!).token = flip(token, at)),
          new RegExp(`^envelope ${e.digest.slice(0, 16)}`),
        ]);
    });
    original.receipts.forEach((r, i) => {
      const { token } = withToken(r);
      cases.push([
        `receipt ${i}`,
        (b) => (withToken(b.receipts[i]!).token = flip(token, token.indexOf('.') + 12)),
        new RegExp(`^receipt ${r.digest.slice(0, 16)}`),
      ]);
    });
    original.log.entries.forEach((e, i) => {
      cases.push([
        `log entry ${e.index}`,
        (b) => (b.log.entries[i]!.entry = flip(e.entry, 10)),
        new RegExp(`^log entry ${e.index}$`),
      ]);
      if (e.proof.length)
        cases.push([
          `proof of ${e.index}`,
          (b) => (b.log.entries[i]!.proof[0] = flip(e.proof[0]!, 3)),
          new RegExp(`^log entry ${e.index}$`),
        ]);
    });
    original.timeline.forEach((t, i) =>
      cases.push([
        `timeline ${t.seq}`,
        (b) => (b.timeline[i]!.type = flip(t.type, 0)),
        new RegExp(`^timeline event ${t.seq}$`),
      ]),
    );
    const cpToken = original.log.checkpoint.token;
    cases.push([
      'checkpoint',
      (b) => (b.log.checkpoint.token = flip(cpToken, cpToken.indexOf('.') + 8)),
      /^checkpoint$/,
    ]);
    original.log.checkpoint.cosignatures.forEach((c, i) =>
      cases.push([
        `cosignature ${i}`,
        (b) => (b.log.checkpoint.cosignatures[i] = flip(c, c.indexOf('.') + 8)),
        new RegExp(`^cosignature ${i + 1}$`),
      ]),
    );
    original.keys.forEach((k, i) =>
      cases.push([
        `key ${k.kid}`,
        (b) => (b.keys[i]!.public_jwk = { ...k.public_jwk, x: flip(String(k.public_jwk.x), 4) }),
        new RegExp(`^key ${k.kid}`),
      ]),
    );
    expect(cases.length).toBeGreaterThan(20);
    for (const [what, mutate, item] of cases) {
      const copy = structuredClone(original);
      mutate(copy);
      const report = await verifyBundle(copy, trust);
      expect(report.ok, what).toBe(false);
      expect(
        report.verdicts.filter((v) => !v.ok).map((v) => v.item),
        what,
      ).toEqual(expect.arrayContaining([expect.stringMatching(item)]));
    }
  });

  it('stays countersigned when the log grows while the partner is asked', async () => {
    // The node's own witness round, then what happens on a busy node meanwhile: another request is
    // sent and a newer checkpoint signed over it, not yet shown to B. The bundle must prove against
    // the checkpoint B countersigned, not the newest.
    let newer = 0;
    const witness = async (size: number) => {
      await a.audit.witness(size);
      const other = await call(a.url, 'POST', '/v1/requests', {
        token: await a.token('officer', 'officer-amira'),
        json: {
          type: 'mine_map',
          counterparty: 'party-b',
          subject: subjectFor('mine_map', 'Records for the eastern bank'),
        },
      });
      expect(other.status, JSON.stringify(other.body)).toBe(201);
      newer = (await a.audit.log.checkpoint()).size;
    };
    const bundle = await buildEvidenceBundle(
      {
        pool: a.database.pool,
        partyId: 'party-a',
        keyring: await loadKeyring(a.config.keysDir),
        audit: a.audit.log,
        witness,
      },
      reqId,
    );
    expect(newer).toBeGreaterThan(0);
    expect(bundle.log.checkpoint.cosignatures).toHaveLength(1);
    const report = await verifyBundle(bundle, trust);
    expect(report.verdicts.filter((v) => !v.ok)).toEqual([]);
  });

  it('fails when the reader does not trust the keys', async () => {
    const report = await verifyBundle(await bundleFrom(a), { 'party-a': trust['party-a']! });
    expect(report.ok).toBe(false);
    expect(
      report.verdicts.some(
        (v) => !v.ok && /not among the fingerprints trusted for party-b/.test(v.detail),
      ),
    ).toBe(true);
  });
});

describe('tampering and forks', () => {
  it('detects a log row changed behind the node’s back, and refuses to sign over it', async () => {
    // A node of its own, so the alteration does not disturb the others' tests.
    const c = await startTestNode({ partyId: 'party-c', env: { AUDIT_CHECKPOINT_SECONDS: '600' } });
    try {
      await registerPartner(c, a); // logs a registry change or two
      const sup = await c.token('admin');
      expect((await call(c.url, 'POST', '/v1/audit/checkpoints', { token: sup })).status).toBe(201);
      const ok = await call(c.url, 'GET', '/v1/audit/verify', { token: sup });
      expect(ok.body).toMatchObject({ ok: true, problems: [] });

      const pool = c.database.pool;
      await pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
      await pool.query(
        `UPDATE audit_log SET entry = replace(entry, '"party_added"', '"party_updated"') WHERE idx = 0`,
      );
      await pool.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');

      const bad = await call(c.url, 'GET', '/v1/audit/verify', { token: sup });
      expect(bad.body.ok).toBe(false);
      expect(bad.body.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'entry', index: 0 }),
          expect.objectContaining({ kind: 'checkpoint' }),
        ]),
      );
      // After a restart the tree is rebuilt from the table: the next checkpoint is refused.
      const keyring = await loadKeyring(c.config.keysDir);
      const restarted = new AuditLog({ pool, partyId: 'party-c', keyring, log: testLogger });
      await expect(restarted.checkpoint()).rejects.toMatchObject({ code: 'log_tampered' });
      const alerts = await call(c.url, 'GET', '/v1/audit/alerts', { token: sup });
      expect(alerts.body.alerts.map((x: { kind: string }) => x.kind)).toContain('log_tampered');
    } finally {
      await c.destroy();
    }
  });

  it('B detects A presenting a second history and alerts its supervisors', async () => {
    // A stops showing B its checkpoints (B's inbox now unreachable from A), so the base B checks
    // against stays put while the forged ones arrive.
    const moved = await call(a.url, 'PATCH', '/v1/admin/partners/party-b', {
      token: await a.token('admin'),
      json: { inboxUrl: 'http://127.0.0.1:9/v1/messages' },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    await new Promise((r) => setTimeout(r, 2500)); // a witness round already under way ends
    const seen = await eventually(async () => {
      const { rows } = await b.database.pool.query<{ size: string; root: Buffer }>(
        "SELECT size, root FROM witnessed_checkpoints WHERE party_id = 'party-a' ORDER BY size DESC LIMIT 1",
      );
      return rows[0];
    });
    const signer = (await loadKeyring(a.config.keysDir)).logSigner();
    const forged = async (size: number, root: string) =>
      signCheckpoint({ log: 'party-a', size, root, at: new Date().toISOString() }, signer);
    const otherRoot = Buffer.from(seen.root).map((x) => x ^ 0xff);

    // Same size, another root.
    const sameSize = await call(b.url, 'POST', '/v1/audit/witness', {
      json: {
        checkpoint: await forged(Number(seen.size), Buffer.from(otherRoot).toString('hex')),
        from_size: Number(seen.size),
        proof: [],
      },
    });
    expect(sameSize.status).toBe(409);
    expect(sameSize.body.code).toBe('fork_detected');
    // A bigger tree that does not extend the one B countersigned.
    const bigger = await call(b.url, 'POST', '/v1/audit/witness', {
      json: {
        checkpoint: await forged(Number(seen.size) + 5, 'ab'.repeat(32)),
        from_size: Number(seen.size),
        proof: ['cd'.repeat(32)],
      },
    });
    expect(bigger.status).toBe(409);
    expect(bigger.body.code).toBe('fork_detected');

    const alerts = await call(b.url, 'GET', '/v1/audit/alerts', {
      token: await b.token('supervisor'),
    });
    const forks = alerts.body.alerts.filter((x: { kind: string }) => x.kind === 'partner_fork');
    expect(forks.length).toBeGreaterThanOrEqual(2);
    expect(forks[0].partyId).toBe('party-a');
    // Officers do not see security alerts.
    const officer = await call(b.url, 'GET', '/v1/audit/alerts', {
      token: await b.token('officer'),
    });
    expect(officer.status).toBe(403);
  });

  it('refuses a checkpoint not signed by a registered log key', async () => {
    const { generateSigningKey, loadSigningKey } = await import('../../protocol/keys.js');
    const stranger = await loadSigningKey(
      await generateSigningKey({ alg: 'Ed25519', roles: ['log'] }),
    );
    const token = await signCheckpoint(
      { log: 'party-a', size: 1, root: '00'.repeat(32), at: new Date().toISOString() },
      stranger,
    );
    const res = await call(b.url, 'POST', '/v1/audit/witness', {
      json: { checkpoint: token, from_size: 0, proof: [] },
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unknown_key');
  });
});
