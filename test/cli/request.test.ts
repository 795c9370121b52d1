// The officers' CLI (`parley request …`) run as a process against two live nodes: a request created
// from a file on A, listed and shown (table and JSON), acknowledged on B, answered on B with a
// record whose files the CLI uploaded (`attach`, `respond --files`), closed on A; a refused action
// printed in words with exit code 1, a node it cannot reach with 3; a create run again with its key answered with the same request.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_ROUTES } from '../../workflows/actions.js';
import { finalFor, subjectFor } from '../helpers/domain.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';
import { requestDetail } from '../helpers/requests.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `parley request ARGS` as an officer of `node` runs it, with `stdin` piped in when given. */
async function parley(
  node: TestNode,
  args: string[],
  stdin?: string,
  env: Record<string, string> = {},
): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/parley.ts', 'request', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      PARLEY_URL: node.url,
      PARLEY_TOKEN: await node.token('officer', `officer-of-${node.config.partyId}`),
      ...env,
    },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) child.stdin!.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const json = (run: Run) => JSON.parse(run.stdout) as Record<string, unknown>;
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

let a: TestNode;
let b: TestNode;
let dir: string;

beforeAll(async () => {
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env: { DELIVERY_MAX_BACKOFF_SECONDS: '1' } }),
    startTestNode({ partyId: 'party-b', env: { DELIVERY_MAX_BACKOFF_SECONDS: '1' } }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-request-cli-'));
}, 120_000);
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const until = (node: TestNode, id: string, status: string) =>
  eventually(
    async () => {
      const r = await requestDetail(node, id);
      return r?.status === status ? r : undefined;
    },
    30_000,
    `${node.config.partyId}: ${status}`,
  );

describe('parley request', () => {
  it('carries a request through its lifecycle between two nodes, with files, as tables and JSON', async () => {
    const title = 'Minefield records along the old railway corridor';
    const requestFile = path.join(dir, 'request.json');
    await fs.writeFile(
      requestFile,
      JSON.stringify({
        type: 'mine_map',
        counterparty: 'party-b',
        subject: subjectFor('mine_map', title),
      }),
    );
    const created = await parley(a, ['create', '--body', requestFile, '--priority', 'urgent']);
    expect(created.code, created.stderr).toBe(0);
    const [id, createdStatus] = created.stdout.trim().split(/\s+/);
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(createdStatus).toBe('submitted');
    expect(created.stdout).toContain(title);

    // List and show, for people and for scripts.
    const list = await parley(a, ['list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+TYPE\s+DIR\s+COUNTERPARTY\s+STATUS\s+DUE\s+TITLE\n/);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+mine_map\\s+outgoing\\s+party-b\\s+`, 'm'));
    const listed = json(await parley(a, ['list', '--json', '--direction', 'outgoing']));
    expect(listed.items).toEqual([
      expect.objectContaining({ id, type: 'mine_map', priority: 'urgent' }),
    ]);
    const shown = await parley(a, ['show', id!]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`title:        ${title}`);
    expect(shown.stdout).toMatch(/^items:\nITEM\s+KIND\s+COVERAGE\s+BY\n/m);
    expect(shown.stdout).toMatch(/^corridor\s+\S+\s+outstanding/m);
    expect(shown.stdout).toMatch(/^timeline:\n/m);
    const shownJson = json(await parley(a, ['show', id!, '--json']));
    expect(shownJson).toMatchObject({ id, status: expect.any(String), counterparty: 'party-b' });

    // B acknowledges with a flag for the note.
    await until(b, id!, 'delivered');
    const ack = await parley(b, ['act', id!, 'acknowledge', '--note', 'Archive search started']);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toMatch(new RegExp(`^${id} {2}acknowledged {2}message \\S+`));
    await until(a, id!, 'acknowledged');

    // B answers: one file uploaded with `attach` (named by its digest), one from --files.
    const scan = Buffer.from('Scan of the strike report 7/94 (invented test data)\n');
    const scanFile = path.join(dir, 'strike-report.txt');
    await fs.writeFile(scanFile, scan);
    const attached = await parley(b, ['attach', scanFile]);
    expect(attached.code, attached.stderr).toBe(0);
    expect(attached.stdout).toBe(`sha256:${sha256(scan)}\n`);

    const files = path.join(dir, 'files');
    await fs.mkdir(files);
    const sketch = Buffer.from(
      'Sketch of the strike area, north at the top (invented test data)\n',
    );
    await fs.writeFile(path.join(files, 'sketch.txt'), sketch);
    const response = finalFor('mine_map') as { records: Record<string, unknown>[] };
    response.records[0]!.attachments = [
      { ref: `sha256:${sha256(scan)}`, media_type: 'text/plain', file_name: 'strike-report.txt' },
      { media_type: 'text/plain', file_name: 'sketch.txt', description: 'Sketch of the area' },
    ];
    const responseFile = path.join(dir, 'response.json');
    await fs.writeFile(responseFile, JSON.stringify(response));
    const responded = await parley(b, [
      'respond',
      id!,
      '--body',
      responseFile,
      '--files',
      files,
      '--json',
    ]);
    expect(responded.code, responded.stderr).toBe(0);
    expect(json(responded)).toMatchObject({
      status: 'answered',
      idempotencyKey: expect.stringMatching(/^cli-/),
    });

    // A holds both files byte for byte, and the item is answered.
    const atA = await until(a, id!, 'answered');
    expect(atA.coverage).toEqual([
      expect.objectContaining({ item_id: 'corridor', state: 'answered' }),
    ]);
    for (const bytes of [scan, sketch]) {
      const res = await fetch(`${a.url}/v1/attachments/sha256:${sha256(bytes)}`, {
        headers: { authorization: `Bearer ${await a.token('officer', 'officer-a')}` },
      });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }

    // A closes it; closing again is refused in words, with the code, exit code 1.
    const closed = await parley(a, ['act', id!, 'close', '--outcome', 'accepted', '--json']);
    expect(closed.code, closed.stderr).toBe(0);
    expect(json(closed)).toMatchObject({ status: 'closed' });
    const again = await parley(a, ['act', id!, 'close_accepted']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^refused: invalid_state \(HTTP 409\): /);
    expect(again.stdout).toBe('');
    await until(b, id!, 'closed');
  }, 180_000);

  it('prints a refusal’s code and the fields at fault, with exit code 1', async () => {
    const bad = await parley(
      a,
      ['create', '--body', '-', '--json'],
      JSON.stringify({ type: 'mine_map', counterparty: 'party-b', subject: { title: 'x' } }),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^refused: schema_invalid \(HTTP 400\): /);
    expect(bad.stderr).toMatch(/^ {2}\/subject\/title: /m);
    expect(json(bad)).toMatchObject({ code: 'schema_invalid' });
    const unknownAction = await parley(a, ['act', '01JCB2S4T6V8W0X2Y4Z6A8B0C2', 'approve']);
    expect(unknownAction.code).toBe(2);
    expect(unknownAction.stderr).toMatch(/^parley request: no action approve; one of acknowledge,/);
    const missing = await parley(a, ['show', '01JCB2S4T6V8W0X2Y4Z6A8B0C2']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^refused: request_not_found \(HTTP 404\)/);
    // A node it cannot reach: exit 3, with the key to run the same operation again.
    const port = await freePort();
    const away = await parley(
      a,
      ['act', '01JCB2S4T6V8W0X2Y4Z6A8B0C2', 'withdraw', '--idempotency-key', 'retry-me-later'],
      undefined,
      { PARLEY_URL: `http://127.0.0.1:${port}` },
    );
    expect(away.code).toBe(3);
    expect(away.stderr).toContain('--idempotency-key retry-me-later');
    expect(away.stderr).toContain(`cannot reach http://127.0.0.1:${port}/v1/requests/`);
  }, 60_000);

  it('a create run again with the same Idempotency-Key answers the same request, once', async () => {
    const body = JSON.stringify({
      type: 'grave_information',
      counterparty: 'party-b',
      subject: subjectFor('grave_information', 'Burial sites near the river crossing'),
    });
    const key = `retry-${crypto.randomBytes(6).toString('hex')}`;
    const first = await parley(
      a,
      ['create', '--body', '-', '--json', '--idempotency-key', key],
      body,
    );
    expect(first.code, first.stderr).toBe(0);
    const second = await parley(
      a,
      ['create', '--body', '-', '--json', '--verbose', '--idempotency-key', key],
      body,
    );
    expect(second.code, second.stderr).toBe(0);
    expect(json(second).id).toBe(json(first).id);
    expect(json(second).idempotencyKey).toBe(key);
    expect(second.stderr).toContain(`POST ${a.url}/v1/requests (Idempotency-Key: ${key})`);
    const listed = json(await parley(a, ['list', '--json', '--type', 'grave_information']));
    expect((listed.items as unknown[]).length).toBe(1);
  }, 60_000);

  it('its usage names every action route', async () => {
    const help = await parley(a, ['--help']);
    expect(help.code).toBe(0);
    for (const r of ACTION_ROUTES) expect(help.stdout).toContain(r.path);
  });
});
