// GET /metrics between two live nodes: the scrape parses as Prometheus text, is open by default and
// behind METRICS_TOKEN when set, and its figures move as a request is created, delivered, turns
// overdue, and as the inbox refuses bad input. No label or value names a request or its subject.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { casesSubject } from '../fixtures/domain/graves.js';
import { corridorSubject } from '../fixtures/domain/mine-maps.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import { freePort } from '../helpers/ports.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseValue(v: string, line: string): number {
  // As Prometheus reads them: Inf and NaN in any case (prom-client writes `Nan`).
  if (/^\+?inf$/i.test(v)) return Infinity;
  if (/^-inf$/i.test(v)) return -Infinity;
  if (/^nan$/i.test(v)) return NaN;
  const n = Number(v);
  if (v === '' || Number.isNaN(n)) throw new Error(`bad value in: ${line}`);
  return n;
}

/** A strict reader of the Prometheus text format (0.0.4): every line must parse. */
function parseScrape(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (meta) {
        if (!NAME.test(meta[2]!)) throw new Error(`bad metric name in: ${line}`);
        if (
          meta[1] === 'TYPE' &&
          !/^(counter|gauge|histogram|summary|untyped)$/.test(meta[3] ?? '')
        )
          throw new Error(`bad type in: ${line}`);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
    if (!m) throw new Error(`unparseable line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const pair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
    while (pair.lastIndex < body.length) {
      const start = pair.lastIndex;
      const p = pair.exec(body);
      if (!p || p.index !== start) throw new Error(`bad labels in: ${line}`);
      labels[p[1]!] = p[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      if (p[3] === '') break;
    }
    samples.push({ name: m[1]!, labels, value: parseValue(m[3]!, line) });
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include `labels`; 0 when there are none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
let a: TestNode;
let b: TestNode;
let officerA: string;

async function scrape(node: TestNode, token?: string) {
  const res = await call<string>(node.url, 'GET', '/metrics', token ? { token } : {});
  expect(res.status, String(res.body)).toBe(200);
  return { text: res.body, samples: parseScrape(res.body), contentType: res.contentType };
}

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    // Overdue two seconds after B's receipt, escalated to level 1 at once.
    {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: 2,
      respond_seconds: 3600,
      escalation_after_seconds: [0],
    },
  ]);
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', PARLEY_POLICY_FILE: policyFile };
  // A first: the Temporal SDK runtime (and its exporter) is installed once per process.
  a = await startTestNode({
    partyId: 'party-a',
    env: { ...env, TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${await freePort()}` },
  });
  b = await startTestNode({ partyId: 'party-b', env: { ...env, METRICS_TOKEN } });
  await registerPartner(a, b);
  await registerPartner(b, a);
  await registerOfflinePartner(a, 'party-c');
  officerA = await a.token('officer', 'officer-amira');
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('GET /metrics', () => {
  it('is Prometheus text that parses, with every metric of the node and the process', async () => {
    const { samples, contentType, text } = await scrape(a);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'parley_requests',
      'parley_requests_overdue',
      'parley_messages_accepted_total',
      'parley_messages_rejected_total',
      'parley_delivery_attempts_total',
      'parley_delivery_failures_total',
      'parley_webhook_posts_total',
      'parley_http_request_duration_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // Every status and kind is there from the start, at 0.
    expect(
      samples.find(
        (s) =>
          s.name === 'parley_requests' &&
          s.labels.status === 'answered' &&
          s.labels.kind === 'identification_result',
      )?.value,
    ).toBe(0);
    expect(value(samples, 'parley_metrics_source_up', { source: 'read_model' })).toBe(1);
    // Default process metrics.
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('asks for METRICS_TOKEN when the node sets one', async () => {
    const none = await call(b.url, 'GET', '/metrics');
    expect(none).toMatchObject({ status: 401, body: { code: 'token_missing' } });
    const wrong = await call(b.url, 'GET', '/metrics', { token: 'not-the-metrics-token-at-all' });
    expect(wrong).toMatchObject({ status: 401, body: { code: 'token_invalid' } });
    // A user's JWT is no metrics token either.
    const jwt = await call(b.url, 'GET', '/metrics', { token: await b.token('supervisor') });
    expect(jwt).toMatchObject({ status: 401, body: { code: 'token_invalid' } });
    await scrape(b, METRICS_TOKEN);
    // A token too short to be one is refused at start-up.
    expect(() => loadConfig({ PARTY_ID: 'party-b', METRICS_TOKEN: 'secret' })).toThrow(
      /METRICS_TOKEN: at least 16 characters/,
    );
  });

  it('moves as a request is created, delivered and turns overdue, naming no request', async () => {
    const [beforeA, beforeB] = [
      (await scrape(a)).samples,
      (await scrape(b, METRICS_TOKEN)).samples,
    ];
    const title = 'Metrics probe: minefield records at the mill ford 7Q4';
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: officerA,
      json: {
        type: 'mine_map',
        counterparty: 'party-b',
        priority: 'urgent',
        subject: { ...structuredClone(corridorSubject), title },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const mineMap = (status: string) => ({ status, kind: 'mine_map' });

    // Delivered on both sides: A's outgoing request and B's incoming one.
    const afterA = await eventually(
      async () => {
        const { samples } = await scrape(a);
        return value(samples, 'parley_requests', mineMap('delivered')) >
          value(beforeA, 'parley_requests', mineMap('delivered'))
          ? samples
          : undefined;
      },
      20_000,
      'A counts the request as delivered',
    );
    expect(value(afterA, 'parley_delivery_attempts_total')).toBeGreaterThan(
      value(beforeA, 'parley_delivery_attempts_total'),
    );
    const afterB = await eventually(
      async () => {
        const { samples } = await scrape(b, METRICS_TOKEN);
        return value(samples, 'parley_requests', mineMap('delivered')) >
          value(beforeB, 'parley_requests', mineMap('delivered'))
          ? samples
          : undefined;
      },
      20_000,
      'B counts the request as delivered',
    );
    expect(value(afterB, 'parley_messages_accepted_total', { kind: 'request' })).toBe(
      value(beforeB, 'parley_messages_accepted_total', { kind: 'request' }) + 1,
    );

    // Two seconds after B's receipt, unacknowledged: overdue at escalation level 1 on A.
    await eventually(
      async () => {
        const { samples } = await scrape(a);
        return value(samples, 'parley_requests_overdue', { level: '1' }) >
          value(beforeA, 'parley_requests_overdue', { level: '1' })
          ? samples
          : undefined;
      },
      20_000,
      'A counts the request overdue at level 1',
    );

    // Latency by route template: the create and the read of the request, not its id.
    expect((await call(a.url, 'GET', `/v1/requests/${id}`, { token: officerA })).status).toBe(200);
    const { samples, text } = await scrape(a);
    const count = 'parley_http_request_duration_seconds_count';
    expect(value(samples, count, { method: 'POST', route: '/v1/requests', status: '201' })).toBe(1);
    expect(
      value(samples, count, { method: 'GET', route: '/v1/requests/:id', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(id);
    expect(text).not.toContain(title);
    expect(text).not.toContain('pylons');
  });

  it('counts failed deliveries by reason', async () => {
    const before = (await scrape(a)).samples;
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: officerA,
      json: {
        type: 'grave_information',
        counterparty: 'party-c', // its inbox is a closed port
        priority: 'routine',
        subject: structuredClone(casesSubject),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const after = await eventually(
      async () => {
        const { samples } = await scrape(a);
        return value(samples, 'parley_delivery_failures_total', { reason: 'unreachable' }) >=
          value(before, 'parley_delivery_failures_total', { reason: 'unreachable' }) + 2
          ? samples
          : undefined;
      },
      20_000,
      'two failed attempts to reach party-c',
    );
    expect(
      value(after, 'parley_requests', { status: 'submitted', kind: 'grave_information' }),
    ).toBe(
      value(before, 'parley_requests', { status: 'submitted', kind: 'grave_information' }) + 1,
    );
    expect(value(after, 'parley_delivery_attempts_total')).toBeGreaterThanOrEqual(
      value(before, 'parley_delivery_attempts_total') + 2,
    );
    const text = (await scrape(a)).text;
    expect(text).not.toContain('MP-2024-00123');
  });

  it('counts refused messages by problem code, and unknown routes under one label', async () => {
    const before = (await scrape(b, METRICS_TOKEN)).samples;
    const garbage = await call(b.url, 'POST', '/v1/messages', {
      raw: 'not.a.jws!',
      headers: { 'content-type': 'application/jose' },
    });
    expect(garbage).toMatchObject({ status: 400, body: { code: 'malformed_envelope' } });
    const wrongType = await call(b.url, 'POST', '/v1/messages', { json: { hello: 'world' } });
    expect(wrongType).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
    const probe = `no-such-page-${Date.now()}`;
    expect((await call(b.url, 'GET', `/${probe}`)).status).toBe(404);

    const { samples, text } = await scrape(b, METRICS_TOKEN);
    const rejected = (code: string) =>
      value(samples, 'parley_messages_rejected_total', { code }) -
      value(before, 'parley_messages_rejected_total', { code });
    expect(rejected('malformed_envelope')).toBe(1);
    expect(rejected('unsupported_media_type')).toBe(1);
    const count = 'parley_http_request_duration_seconds_count';
    expect(
      value(samples, count, { method: 'POST', route: '/v1/messages', status: '400' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(samples, count, { method: 'GET', route: '(unmatched)', status: '404' })).toBe(
      value(before, count, { method: 'GET', route: '(unmatched)', status: '404' }) + 1,
    );
    expect(text).not.toContain(probe);
  });

  it('includes the Temporal SDK workflow task latency when TEMPORAL_METRICS_ADDRESS is set', async () => {
    const found = await eventually(
      async () => {
        const { samples } = await scrape(a);
        const names = new Set(samples.map((s) => s.name));
        return [...names].some((n) => n.startsWith('temporal_workflow_task_execution_latency'))
          ? samples
          : undefined;
      },
      20_000,
      'workflow task latency from the SDK',
    );
    expect(value(found, 'parley_metrics_source_up', { source: 'temporal_sdk' })).toBe(1);
    // The node without it serves its own metrics only.
    const atB = await scrape(b, METRICS_TOKEN);
    expect(atB.samples.some((s) => s.name.startsWith('temporal_'))).toBe(false);
  });
});
