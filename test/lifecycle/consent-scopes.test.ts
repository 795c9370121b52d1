// Consent scopes of identification records (README, _Consent scopes_): a response to an
// identification_result request whose records only the requesting authority may see cannot cross
// a mediator in a form the mediator can read. Three live nodes A, M, B registered as in
// mediated-exchange.test.ts, but A and B do NOT seal their content to each other: M can read it.
//
// - domain/consent.ts on its own: a record's scope, and which records a mediator may not read.
// - B's officer answers with records without `consent`: 422 consent_scope naming each record, and
//   nothing is signed (no response in B's outbox, none at M, A still waits for an answer).
// - The same records with the family's consent for the mediator: they go through, A is answered,
//   A's officer reads the consent in the records, and M relayed the response unsealed.
// - A response B signs by hand (skipping its own API's check) and posts to M: M refuses it
//   (422 consent_scope) and keeps nothing; the same with a scope that allows M goes through.
// - Such a response passed on by a mediator that does not check (M's relay receipt beside it):
//   A refuses it (422 consent_scope).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beyondScopeThroughMediator, scopeOf } from '../../domain/consent.js';
import { normaliseBody } from '../../domain/outgoing-message.js';
import { buildPayload, signDraft, signPayload } from '../../protocol/sign.js';
import { RELAY_RECEIPT_HEADER } from '../../exchange/relay-receipt.js';
import type { RequestType } from '../../schemas/common.js';
import { ENVELOPE_MEDIA_TYPE } from '../../schemas/envelope.js';
import { RequestDetailView } from '../../schemas/requests-api.js';
import { finalFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  createRequest,
  expectRefused,
  officerOf,
  outboxOf,
  postEnvelope,
  startMediatedTrio,
  untilStatus,
  type MediatedTrio,
} from '../helpers/mediated.js';
import { eventually } from '../helpers/partners.js';
import { requestDetail } from '../helpers/requests.js';

const REQUEST_TYPES: RequestType[] = ['mine_map', 'grave_information', 'identification_result'];

describe('consent scopes (domain/consent.ts)', () => {
  it('reads a record’s scope, the narrowest when it says none', () => {
    for (const record of [undefined, null, 'R-1', {}, { consent: null }, { consent: {} }])
      expect(scopeOf(record)).toBe('requesting_authority');
    for (const scope of ['requesting_authority', 'mediator', 'publication'] as const)
      expect(scopeOf({ covers: ['case-1'], consent: { scope, given_by: 'family' } })).toBe(scope);
    // A scope it does not know is no wider than the narrowest.
    expect(scopeOf({ consent: { scope: 'everyone', given_by: 'family' } })).toBe(
      'requesting_authority',
    );
  });

  it('names each identification record only the requesting authority may see, at its path', () => {
    const records = [
      { conclusion: 'identified' },
      { conclusion: 'pending', consent: { scope: 'mediator', given_by: 'family' } },
      { conclusion: 'excluded', consent: { scope: 'requesting_authority', given_by: 'court' } },
      { conclusion: 'pending', consent: { scope: 'publication', given_by: 'holder' } },
      { conclusion: 'inconclusive' },
    ];
    const beyond = beyondScopeThroughMediator('identification_result', { records });
    expect(beyond.map((d) => d.path)).toEqual([
      '/records/0/consent',
      '/records/2/consent',
      '/records/4/consent',
    ]);
    for (const d of beyond) expect(d.message).toMatch(/requesting authority/);
    // Records the mediator may read, no records, and other request types: nothing to refuse.
    expect(
      beyondScopeThroughMediator('identification_result', { records: [records[1], records[3]] }),
    ).toEqual([]);
    expect(beyondScopeThroughMediator('identification_result', { records: [] })).toEqual([]);
    expect(beyondScopeThroughMediator('identification_result', {})).toEqual([]);
    for (const type of REQUEST_TYPES.filter((t) => t !== 'identification_result'))
      expect(beyondScopeThroughMediator(type, { records })).toEqual([]);
  });
});

describe('identification records through a mediator that can read them', () => {
  let trio: MediatedTrio;
  let a: TestNode;
  let m: TestNode;
  let b: TestNode;

  /** The request as the node's officer sees it, with the messages' bodies. */
  async function asOfficer(node: TestNode, id: string): Promise<RequestDetailView> {
    const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
      token: officerOf(node),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return RequestDetailView.parse(res.body);
  }

  const respond = (id: string, json: unknown) => act(b, id, 'responses', json);

  interface RelayedItem {
    msgId: string;
    kind: string;
    from: string;
    to: string;
    sealed: boolean;
    lastError: string | null;
    recipientStatus: number | null;
    recipientReceivedAt: string | null;
  }

  /** What M's supervisor sees it relayed for the request. */
  async function relayedAtM(id: string): Promise<RelayedItem[]> {
    const res = await call(m.url, 'GET', `/v1/relayed?req_id=${id}`, {
      token: await m.token('supervisor'),
    });
    expect(res.status).toBe(200);
    return res.body.items as RelayedItem[];
  }

  /** A asks B, through M, for identification results; returns once both show it delivered. */
  async function ask(title: string): Promise<string> {
    const id = await createRequest(a, title, { type: 'identification_result' });
    await untilStatus(b, id, 'delivered', 'request arrived');
    await untilStatus(a, id, 'delivered', 'A holds B’s receipt');
    return id;
  }

  /** B's final answer to `subjectFor('identification_result')`, each record with `consent`. */
  function answerWith(consent: (i: number) => Record<string, unknown> | undefined) {
    const body = finalFor('identification_result') as { records: Record<string, unknown>[] };
    body.records = body.records.map((r, i) => {
      const c = consent(i);
      return c ? { ...r, consent: c } : r;
    });
    return body;
  }

  const paths = (body: unknown) =>
    ((body as { errors?: { path: string }[] }).errors ?? []).map((e) => e.path);

  beforeAll(async () => {
    // M relays for both; A and B know M, and each other as reached through M, in clear.
    trio = await startMediatedTrio({ sealContent: false });
    ({ a, m, b } = trio);
  }, 120_000);
  afterAll(async () => {
    await trio?.stop();
  });

  let id: string;

  it('refuses at B’s officer route records only A may see, before anything is signed', async () => {
    id = await ask('Identification results for site GS-031, in clear through M');
    const refused = await respond(
      id,
      answerWith(() => undefined),
    );
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.code).toBe('consent_scope');
    expect(paths(refused.body)).toEqual([
      '/records/0/consent',
      '/records/1/consent',
      '/records/2/consent',
    ]);
    // Scoped to the requesting authority in so many words, it is the same; the others may pass.
    const mixed = await respond(
      id,
      answerWith((i) =>
        i === 0
          ? { scope: 'mediator', given_by: 'family' }
          : i === 1
            ? { scope: 'requesting_authority', given_by: 'holder' }
            : undefined,
      ),
    );
    expect(mixed.status, JSON.stringify(mixed.body)).toBe(422);
    expect(mixed.body.code).toBe('consent_scope');
    expect(paths(mixed.body)).toEqual(['/records/1/consent', '/records/2/consent']);

    // Nothing was signed: no response in B's outbox, none relayed by M, A still waits.
    expect((await outboxOf(b, id)).filter((i) => i.kind === 'response')).toEqual([]);
    expect((await relayedAtM(id)).filter((r) => r.kind === 'response')).toEqual([]);
    const atA = (await requestDetail(a, id))!;
    expect(atA.status).toBe('delivered');
    const atB = (await requestDetail(b, id))!;
    expect(atB.status).toBe('delivered');
    expect(atB.undelivered).toEqual([]);
  });

  it('lets records the family allowed the mediator to see through, in clear', async () => {
    const answer = answerWith((i) =>
      i === 0
        ? { scope: 'mediator', given_by: 'family', given_on: '2025-02-20' }
        : { scope: 'mediator', given_by: 'family' },
    );
    const sent = await respond(id, answer);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const msgId = sent.body.msgId as string;
    await untilStatus(a, id, 'answered');

    // A's officer reads the records with the consent they carry, as B signed them.
    const atA = await asOfficer(a, id);
    const responses = (atA.messages ?? []).filter((x) => x.kind === 'response');
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ msgId, from: 'partner' });
    const records = (responses[0]!.body as { records: { consent?: unknown }[] }).records;
    expect(records.map((r) => r.consent)).toEqual([
      { scope: 'mediator', given_by: 'family', given_on: '2025-02-20' },
      { scope: 'mediator', given_by: 'family' },
      { scope: 'mediator', given_by: 'family' },
    ]);

    // M relayed exactly this response, unsealed, and holds A's receipt of it: the refused
    // attempts before it never left B.
    const relayed = await eventually(
      async () => {
        const rows = (await relayedAtM(id)).filter((r) => r.kind === 'response');
        return rows.length === 1 && rows[0]!.recipientReceivedAt !== null ? rows : undefined;
      },
      30_000,
      'M holding A’s receipt of the response',
    );
    expect(relayed[0]).toMatchObject({
      msgId,
      from: 'party-b',
      to: 'party-a',
      sealed: false,
      recipientStatus: 202,
    });
    expect(
      (await outboxOf(b, id)).filter((i) => i.kind === 'response').map((i) => i.msgId),
    ).toEqual([msgId]);
  });

  it('refuses at M such records unsealed: M keeps nothing, forwards nothing', async () => {
    const fresh = await ask('Identification results, answered by a system that skips the check');
    const signed = await signedByHand(
      fresh,
      answerWith(() => undefined),
    );
    expect(signed.token.split('.')).toHaveLength(3); // a JWS, not sealed (a JWE has five parts)
    const posted = await postEnvelope(m, signed.token);
    const refusal = posted.body as { code: string; errors?: { path: string }[] };
    expect(posted.status, JSON.stringify(refusal)).toBe(422);
    expect(refusal.code).toBe('consent_scope');
    expect(paths(refusal)).toEqual([
      '/records/0/consent',
      '/records/1/consent',
      '/records/2/consent',
    ]);
    // M refused it before taking it: no relay receipt, nothing relayed or kept.
    expect(posted.headers.get('parley-relay-receipt')).toBeNull();
    expect((await relayedAtM(fresh)).filter((r) => r.kind === 'response')).toEqual([]);
    const kept = await m.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM relayed_messages WHERE msg_id = $1`,
      [signed.payload.msg_id],
    );
    expect(kept.rows[0]!.n).toBe(0);
    // A took nothing in: still waiting for an answer, no response among its messages.
    const atA = await asOfficer(a, fresh);
    expect(atA.status).toBe('delivered');
    expect((atA.messages ?? []).filter((x) => x.kind === 'response')).toEqual([]);

    // The same records in clear beside a `sealed` member, as a system that splits a sealed message
    // wrongly would sign them: refused before M keeps anything, whatever `sealed` says.
    const spoofed = await signPayload(
      {
        ...buildPayload(
          {
            kind: 'response',
            iss: 'party-b',
            aud: 'party-a',
            req_id: fresh,
            seq: 1,
            seen: 1,
            body: normaliseBody(
              'response',
              'identification_result',
              answerWith(() => undefined),
            ) as never,
          },
          new Date(),
        ),
        sealed: 'aaaa.bbbb.cccc.dddd.eeee',
      } as never,
      b.exchange.outbox.keyring.signerFor('response'),
    );
    const spoof = await postEnvelope(m, spoofed.token);
    expectRefused(spoof, 400, 'schema_invalid');
    expect(spoof.headers.get('parley-relay-receipt')).toBeNull();
    const keptSpoof = await m.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM relayed_messages WHERE msg_id = $1`,
      [spoofed.payload.msg_id],
    );
    expect(keptSpoof.rows[0]!.n).toBe(0);

    // The same records with a scope that allows the mediator pass M as they are.
    const allowed = await signedByHand(
      fresh,
      answerWith(() => ({ scope: 'publication', given_by: 'family' })),
    );
    const through = await postEnvelope(m, allowed.token);
    expect(through.status, JSON.stringify(through.body)).toBe(202);
    await untilStatus(a, fresh, 'answered');
  });

  it('refuses at A such records a mediator that does not check passed on', async () => {
    const fresh = await ask('Identification results, through a mediator that skips the check');
    const signed = await signedByHand(
      fresh,
      answerWith(() => undefined),
    );
    // M's relay receipt for it, as a mediator that keeps and forwards it would sign one.
    const relayReceipt = await signDraft(
      {
        kind: 'receipt',
        iss: 'party-m',
        aud: 'party-b',
        req_id: fresh,
        in_reply_to: { msg_id: signed.payload.msg_id, digest: signed.digest },
        body: { digest: signed.digest, received_at: new Date().toISOString() },
      },
      m.exchange.outbox.keyring.signerFor('receipt'),
    );
    const posted = await fetch(`${a.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': ENVELOPE_MEDIA_TYPE,
        [RELAY_RECEIPT_HEADER]: relayReceipt.token,
      },
      body: signed.token,
    });
    const refusal = (await posted.json()) as { code: string; errors?: { path: string }[] };
    expect(posted.status, JSON.stringify(refusal)).toBe(422);
    expect(refusal.code).toBe('consent_scope');
    expect(paths(refusal)).toEqual([
      '/records/0/consent',
      '/records/1/consent',
      '/records/2/consent',
    ]);
    const atA = await asOfficer(a, fresh);
    expect(atA.status).toBe('delivered');
    expect((atA.messages ?? []).filter((x) => x.kind === 'response')).toEqual([]);
  });

  /**
   * B's first response to `reqId`, signed by hand as a partner system without the officer route's
   * check would: B has sent nothing about the request since it arrived, so it is seq 1, having
   * seen A's request (1).
   */
  async function signedByHand(reqId: string, answer: unknown) {
    const body = normaliseBody('response', 'identification_result', answer);
    return signPayload(
      buildPayload(
        {
          kind: 'response',
          iss: 'party-b',
          aud: 'party-a',
          req_id: reqId,
          seq: 1,
          seen: 1,
          body: body as never,
        },
        new Date(),
      ),
      b.exchange.outbox.keyring.signerFor('response'),
    );
  }
});
