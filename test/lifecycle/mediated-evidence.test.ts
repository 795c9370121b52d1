// Three-way evidence of a mediated exchange (README, _Mediated exchange_): A and B exchange sealed
// content through a mediator M, each on its own node, namespace and database; M is reached through
// a proxy the test can cut.
//
// - After a whole lifecycle through M, the evidence bundle of either party verifies offline with
//   the fingerprints of A, B and M: every envelope comes with M's relay receipt (when M took it, and
//   when the recipient did), M's log proves what it relayed in a checkpoint a party countersigned,
//   and the content stays sealed: none of it is in the bundle.
// - Any change to M's part is named: a relay receipt, an entry of M's log, M's checkpoint, and M's
//   keys when the reader does not trust them.
// - M's route `POST /v1/relayed/proofs` answers only for what it relayed.
// - M away while a bundle is made: the bundle comes back without M's log, and says so; once M is
//   back, a new bundle verifies.
import { loadKeyring } from '../../protocol/keyring.js';
import { signDraft } from '../../protocol/sign.js';
import { Payload } from '../../schemas/envelope.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle, type BundleReport, type TrustAnchors } from '../../audit/verify-bundle.js';
import { AuditEntry } from '../../schemas/audit.js';
import { RelayProofs, type EvidenceBundle } from '../../schemas/evidence.js';
import { finalFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  bundleFrom,
  createRequest,
  failed,
  startMediatedTrio,
  trustOf,
  untilReceipted,
  untilStatus,
  type CutTrio,
} from '../helpers/mediated.js';
import type { CuttableProxy } from '../helpers/proxy.js';

const MARKER = 'MEDIATED-EVIDENCE-MARKER-Vesna-Kovac';

let trio: CutTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;
let proxy: CuttableProxy;
let trust: TrustAnchors;

/** A node's decryption keys, read from its key folder as `parley evidence verify --open` does. */
const keysOf = async (node: TestNode) => (await loadKeyring(node.config.keysDir)).decryptionKeys;

/** The payload of a compact JWS, as text. */
const payloadText = (token: string) =>
  Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8');

/** One character changed for another of its kind (hex stays hex, base64url stays base64url). */
function flip(s: string, at: number): string {
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
}

const ISO = '\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z';

beforeAll(async () => {
  // M relays for both; A and B reach M through the proxy, and each other through M, sealed.
  trio = await startMediatedTrio({ sealContent: true, cut: 'm' });
  ({ a, m, b, proxy } = trio);
  trust = await trustOf(a, b, m);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

describe('the evidence of a request through a mediator', () => {
  let id: string;
  /** A's bundle of the closed request, as first downloaded. */
  let bundleA: EvidenceBundle;

  it('verifies on both sides after the whole lifecycle, with M’s relay receipts and log, content sealed', async () => {
    id = await createRequest(a, `Burial site of ${MARKER}`);
    const atB = await untilStatus(b, id, 'delivered', 'request arrived');
    // The content did travel (B reads it), sealed through M.
    expect(atB.subject).toMatchObject({ title: `Burial site of ${MARKER}` });
    expect((await act(b, id, 'acknowledge', { note: `Searching for ${MARKER}` })).status).toBe(200);
    await untilStatus(a, id, 'acknowledged');
    const final = await act(b, id, 'responses', finalFor('grave_information'));
    expect(final.status, JSON.stringify(final.body)).toBe(200);
    await untilStatus(a, id, 'answered');
    expect((await act(a, id, 'close', { outcome: 'accepted' })).status).toBe(200);
    await untilStatus(b, id, 'closed');
    await untilStatus(a, id, 'closed');
    expect(await untilReceipted(a, id)).toHaveLength(2);
    expect(await untilReceipted(b, id)).toHaveLength(2);

    for (const [node, other] of [
      [a, 'party-b'],
      [b, 'party-a'],
    ] as const) {
      const self = node.config.partyId;
      const bundle = await bundleFrom(node, id);
      if (node === a) bundleA = bundle;
      const report = await verifyBundle(bundle, trust);
      expect(failed(report), self).toEqual([]);
      expect(report.ok).toBe(true);
      expect(bundle.manifest.status).toBe('closed');
      // Request and closure one way, acknowledgement and response the other: all through M.
      expect(bundle.envelopes).toHaveLength(4);
      expect(new Set(bundle.envelopes.map((e) => e.direction))).toEqual(
        new Set(['sent', 'received']),
      );
      expect(bundle.log.checkpoint.cosignatures.length, self).toBeGreaterThan(0);

      const med = bundle.mediator!;
      expect(med.party).toBe('party-m');
      expect(bundle.keys.some((k) => k.party_id === 'party-m')).toBe(true);
      // One relay receipt of M per envelope, whichever way it went.
      expect(med.relay_receipts.map((r) => r.for_digest).sort()).toEqual(
        bundle.envelopes.map((e) => e.digest).sort(),
      );
      const byItem = new Map(report.verdicts.map((v) => [v.item, v]));
      for (const r of med.relay_receipts) {
        const v = byItem.get(`relay receipt ${r.digest.slice(0, 16)}`);
        expect(v?.ok, `relay receipt for ${r.for_digest}`).toBe(true);
        // When M took it, and when its recipient did: M first.
        const times = new RegExp(
          `party-m received it at (${ISO}).*; party-[ab] received it at (${ISO})$`,
        ).exec(v!.detail);
        expect(times, v!.detail).not.toBeNull();
        expect(Date.parse(times![1]!)).toBeLessThanOrEqual(Date.parse(times![2]!));
        // And M passed the recipient's receipt back.
        expect(byItem.get(`mediator passed back ${r.for_digest.slice(0, 16)}`)?.ok).toBe(true);
      }
      // The detail names the recipient of each: the partner for what this node sent.
      const sentDigests = bundle.envelopes.filter((e) => e.direction === 'sent');
      for (const e of sentDigests) {
        const r = med.relay_receipts.find((x) => x.for_digest === e.digest)!;
        expect(byItem.get(`relay receipt ${r.digest.slice(0, 16)}`)!.detail).toContain(
          `${other} received it at`,
        );
      }
      expect(byItem.get('mediator checkpoint')?.ok).toBe(true);
      expect(
        report.verdicts.filter((v) => /^mediator cosignature \d+$/.test(v.item) && v.ok).length,
      ).toBeGreaterThan(0);
      // M's log: when it relayed each message, and when it passed the recipient's receipt back.
      expect(report.verdicts.filter((v) => v.item.startsWith('mediator log entry ')).length).toBe(
        2 * med.relay_receipts.length,
      );

      // Sealed: the content is in no part of the bundle, not even inside a signed payload.
      const text = JSON.stringify(bundle);
      expect(text).not.toContain(MARKER);
      const tokens = [
        ...bundle.envelopes.flatMap((e) => ('token' in e ? [e.token] : [])),
        ...bundle.receipts.flatMap((r) => ('token' in r ? [r.token] : [])),
        ...med.relay_receipts.map((r) => r.token),
      ];
      expect(tokens.length).toBeGreaterThan(8);
      for (const t of tokens) expect(payloadText(t)).not.toContain(MARKER);
    }
  });

  it('opens, for a holder of the recipient’s key, the content sealed to it, and only that', async () => {
    // A's key opens what B sent A (the acknowledgement and the response), not what A sent B.
    const report = await verifyBundle(bundleA, trust, { open: await keysOf(a) });
    expect(failed(report)).toEqual([]);
    const received = bundleA.envelopes
      .filter((e) => e.direction === 'received')
      .map((e) => e.digest);
    expect(report.opened.map((o) => o.digest).sort()).toEqual([...received].sort());
    for (const d of received)
      expect(report.verdicts.find((v) => v.item === `content ${d.slice(0, 16)}`)?.ok).toBe(true);
    expect(JSON.stringify(report.opened)).toContain(`Searching for ${MARKER}`);
    // B's key opens the request A sent; M's opens nothing (it holds no party's key).
    const atB = await verifyBundle(bundleA, trust, { open: await keysOf(b) });
    expect(JSON.stringify(atB.opened)).toContain(`Burial site of ${MARKER}`);
    const none = await verifyBundle(bundleA, trust, { open: await keysOf(m) });
    expect(none.opened).toEqual([]);
    expect(none.ok).toBe(true);
  });

  describe('names what was changed in M’s part', () => {
    const relayItem = (digest: string) => `relay receipt ${digest.slice(0, 16)}`;

    async function verifyChanged(change: (b: EvidenceBundle) => void): Promise<BundleReport> {
      const copy = structuredClone(bundleA);
      change(copy);
      return verifyBundle(copy, trust);
    }

    it('a relay receipt’s signature', async () => {
      for (const [i, r] of bundleA.mediator!.relay_receipts.entries()) {
        const report = await verifyChanged((b) => {
          const t = b.mediator!.relay_receipts[i]!.token;
          b.mediator!.relay_receipts[i]!.token = flip(t, t.lastIndexOf('.') + 10);
        });
        expect(report.ok).toBe(false);
        expect(failed(report).map((v) => v.item)).toEqual([relayItem(r.digest)]);
      }
    });

    it('an entry of M’s log', async () => {
      const entries = bundleA.mediator!.log!.entries;
      expect(entries.length).toBeGreaterThan(0);
      for (const [i, e] of entries.entries()) {
        // The last digit of the time the entry was logged.
        const at = /"at":"[^"]*(\d)Z"/.exec(e.entry)!;
        const pos = at.index + at[0].length - 3;
        const report = await verifyChanged((b) => {
          b.mediator!.log!.entries[i]!.entry = flip(e.entry, pos);
        });
        expect(report.ok).toBe(false);
        const bad = failed(report);
        expect(bad.find((v) => v.item === `mediator log entry ${e.index}`)?.detail).toMatch(
          /inclusion proof/,
        );
        // Without its proven entry, the relay receipt that entry names loses its log too.
        const type = (JSON.parse(e.entry) as { type: string }).type;
        expect(bad.length).toBe(type === 'message_relayed' ? 2 : 1);
      }
    });

    it('M’s checkpoint', async () => {
      const report = await verifyChanged((b) => {
        const t = b.mediator!.log!.checkpoint.token;
        b.mediator!.log!.checkpoint.token = flip(t, t.indexOf('.') + 8);
      });
      expect(report.ok).toBe(false);
      const items = failed(report).map((v) => v.item);
      expect(items).toContain('mediator checkpoint');
      // Nothing of M's log is proven without it; the node's own log still is.
      expect(items.filter((i) => i.startsWith('mediator log entry '))).toHaveLength(
        bundleA.mediator!.log!.entries.length,
      );
      expect(items.every((i) => i.startsWith('mediator ') || i.startsWith('relay receipt '))).toBe(
        true,
      );
    });

    it('M’s keys, when the reader does not trust them', async () => {
      const { 'party-m': _m, ...withoutM } = trust;
      const report = await verifyBundle(bundleA, withoutM);
      expect(report.ok).toBe(false);
      const keyVerdicts = failed(report).filter((v) => v.item.startsWith('key '));
      expect(keyVerdicts.length).toBeGreaterThan(0);
      for (const v of keyVerdicts) {
        expect(v.item).toMatch(/\(party-m\)$/);
        expect(v.detail).toBe('not among the fingerprints trusted for party-m');
      }
      // M's signatures no longer check: its relay receipts and its checkpoint.
      expect(failed(report).map((v) => v.item)).toEqual(
        expect.arrayContaining([
          'mediator checkpoint',
          ...bundleA.mediator!.relay_receipts.map((r) => relayItem(r.digest)),
        ]),
      );
    });

    it('a relay receipt left out while M’s log holds its message', async () => {
      // The relay receipts the bundle lists check out, and M's log, proven, names one more.
      const [gone, ...kept] = bundleA.mediator!.relay_receipts;
      const report = await verifyChanged((b) => {
        b.mediator!.relay_receipts = b.mediator!.relay_receipts.slice(1);
      });
      const items = report.verdicts.map((v) => v.item);
      expect(items).not.toContain(relayItem(gone!.digest));
      for (const r of kept) expect(items).toContain(relayItem(r.digest));
      // Its message is still in M's log, proven, and the rest verifies.
      expect(
        report.verdicts.some(
          (v) =>
            v.ok &&
            v.item === `mediator passed back ${gone!.for_digest.slice(0, 16)}` &&
            v.detail.startsWith('party-m passed'),
        ),
      ).toBe(true);
      // ...and the bundle fails, naming the receipt M's log says it signed and the bundle lacks.
      expect(failed(report).map((v) => v.item)).toEqual([
        `relay receipt for ${gone!.for_digest.slice(0, 16)}`,
      ]);
      expect(report.ok).toBe(false);
    });

    it('the whole mediator member left out, as if the request had gone straight', async () => {
      const report = await verifyChanged((b) => {
        delete b.mediator;
      });
      expect(report.ok).toBe(false);
      // A's own log names M's relay receipt for every message that went through M, each way.
      const relayedMessages = new Set(bundleA.mediator!.relay_receipts.map((r) => r.for_digest));
      expect(relayedMessages.size).toBeGreaterThan(1);
      expect(failed(report).map((v) => v.item)).toEqual(
        expect.arrayContaining(
          [...relayedMessages].map((d) => `relay receipt for ${d.slice(0, 16)}`),
        ),
      );
      for (const v of failed(report).filter((x) => x.item.startsWith('relay receipt for ')))
        expect(v.detail).toMatch(/^party-a's log says this message went through a mediator/);
    });

    it('M’s relay receipt passed off as the recipient’s receipt', async () => {
      // Same shape (a v1 receipt naming the message), signed by a key the reader trusts: but M's.
      const theirs = bundleA.receipts.find((r) => r.direction === 'received')!;
      const relay = bundleA.mediator!.relay_receipts.find(
        (r) => r.for_digest === theirs.for_digest,
      )!;
      const report = await verifyChanged((b) => {
        const r = b.receipts.find((x) => x.digest === theirs.digest)!;
        Object.assign(r, { digest: relay.digest, token: relay.token });
      });
      const v = report.verdicts.find((x) => x.item === `receipt ${relay.digest.slice(0, 16)}`);
      expect(v?.ok).toBe(false);
      expect(v?.detail).toBe("not party-b's receipt to party-a");
      expect(report.ok).toBe(false);
    });
  });

  describe('fails, naming the relay receipt, when its times do not follow one another', () => {
    /**
     * A's bundle with one relay receipt signed again by M's own key, as M would sign it, but saying
     * M took the message at `at` (given the message's signing time and its recipient's receipt).
     */
    async function withRelayTime(
      pick: (times: { signed: number; arrived: number }) => number,
    ): Promise<{ report: BundleReport; digest: string }> {
      const copy = structuredClone(bundleA);
      const relay = copy.mediator!.relay_receipts[0]!;
      const original = Payload.parse(JSON.parse(payloadText(relay.token)));
      if (original.kind !== 'receipt') throw new Error('not a receipt');
      const env = copy.envelopes.find((e) => e.digest === relay.for_digest)!;
      // Sealed: only the members the times need are read.
      const sent = JSON.parse(payloadText('token' in env ? env.token : '')) as {
        iat: number;
        sent_at?: number;
      };
      const theirs = copy.receipts.find((r) => r.for_digest === relay.for_digest)!;
      const arrived = Payload.parse(JSON.parse(payloadText('token' in theirs ? theirs.token : '')));
      if (arrived.kind !== 'receipt') throw new Error('not a receipt');
      const at = pick({
        signed: (sent.sent_at ?? sent.iat) * 1000,
        arrived: Date.parse(arrived.body.received_at),
      });
      const keyring = await loadKeyring(m.config.keysDir);
      const signed = await signDraft(
        {
          kind: 'receipt',
          iss: original.iss,
          aud: original.aud,
          ...(original.req_id ? { req_id: original.req_id } : {}),
          in_reply_to: original.in_reply_to,
          body: { digest: original.body.digest, received_at: new Date(at).toISOString() },
        },
        keyring.signerFor('receipt', new Date()),
      );
      Object.assign(relay, { token: signed.token, digest: signed.digest });
      return { report: await verifyBundle(copy, trust), digest: signed.digest };
    }

    it('M taking a message an hour before it was signed', async () => {
      const { report, digest } = await withRelayTime((t) => t.signed - 3_600_000);
      const v = report.verdicts.find((x) => x.item === `relay receipt ${digest.slice(0, 16)}`);
      expect(v?.ok).toBe(false);
      expect(v?.detail).toMatch(
        /^party-m says it received the message at .*, before it was signed/,
      );
      expect(report.ok).toBe(false);
    });

    it('the recipient receiving it an hour before M took it', async () => {
      const { report, digest } = await withRelayTime((t) => t.arrived + 3_600_000);
      const v = report.verdicts.find((x) => x.item === `relay receipt ${digest.slice(0, 16)}`);
      expect(v?.ok).toBe(false);
      expect(v?.detail).toMatch(
        /^party-b says it received the message at .*, before party-m took it/,
      );
    });

    it('but not within the clocks’ skew', async () => {
      // One second after the recipient's receipt: clocks of two nodes may differ this much.
      const { report, digest } = await withRelayTime((t) => t.arrived + 1_000);
      const v = report.verdicts.find((x) => x.item === `relay receipt ${digest.slice(0, 16)}`);
      // M's log names the receipt it really signed: that, and nothing about the times, fails.
      expect(v?.ok).toBe(false);
      expect(v?.detail).toBe("party-m's log names another relay receipt for the message");
    });
  });

  describe('M’s route for the proofs of what it relayed', () => {
    const ask = (json: unknown) => call(m.url, 'POST', '/v1/relayed/proofs', { json });

    it('refuses digests it never relayed', async () => {
      const res = await ask({ digests: ['ab'.repeat(32), 'cd'.repeat(32)] });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('unknown_message');
    });

    it('refuses a malformed request', async () => {
      for (const json of [{ digests: ['x'] }, { digests: [] }, {}]) {
        const res = await ask(json);
        expect(res.status, JSON.stringify(json)).toBe(400);
        expect(res.body.code).toBe('schema_invalid');
      }
    });

    it('answers with its log’s entries for a message it relayed', async () => {
      const digest = bundleA.envelopes.find((e) => e.direction === 'sent')!.digest;
      const res = await ask({ digests: [digest] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const answer = RelayProofs.parse(res.body);
      expect(answer.log).toBe('party-m');
      const entries = answer.proofs.entries.map((e) => AuditEntry.parse(JSON.parse(e.entry)));
      expect(entries.map((e) => e.type).sort()).toEqual([
        'message_relayed',
        'relay_receipt_received',
      ]);
      for (const e of entries)
        expect('for_digest' in e ? e.for_digest : 'digest' in e && e.digest).toBe(digest);
      expect(JSON.stringify(res.body)).not.toContain(MARKER);
    });
  });

  it('comes back without M’s log while M is away, saying so, and verifies once M is back', async () => {
    proxy.cut();
    let away: EvidenceBundle;
    const started = Date.now();
    try {
      away = await bundleFrom(a, id);
    } finally {
      proxy.restore();
    }
    // M's absence costs the bundle no wait: the connection is refused at once.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(away.mediator?.party).toBe('party-m');
    expect(away.mediator?.log).toBeNull();
    expect(away.mediator?.relay_receipts).toHaveLength(4);
    expect(away.summary).toContain('its log could not be reached');
    const report = await verifyBundle(away, trust);
    expect(report.ok).toBe(false);
    expect(failed(report).map((v) => v.item)).toEqual(['mediator log']);
    // What A holds still verifies: M's relay receipts, by their signatures.
    for (const r of away.mediator!.relay_receipts)
      expect(
        report.verdicts.find((v) => v.item === `relay receipt ${r.digest.slice(0, 16)}`)?.ok,
      ).toBe(true);

    const back = await bundleFrom(a, id);
    expect(back.mediator?.log).not.toBeNull();
    expect(failed(await verifyBundle(back, trust))).toEqual([]);
  });
});
