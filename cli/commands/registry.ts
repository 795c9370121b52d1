// `parley partner …`, `parley exchange …`, `parley message show`: operator commands that go
// through a running node's admin API.
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { callNode, report } from '../api-client.js';

export const USAGE = `usage:
  parley partner list
  parley partner add --party-id ID --name NAME --inbox-url URL --jwks FILE [--seal] [--via MEDIATOR] [--mediators M1,M2] [--relays] [--roles message,receipt] [--valid-from ISO] [--valid-until ISO]
  parley partner seal --party-id ID on|off
  parley partner via --party-id ID MEDIATOR|none      messages to and from ID go through MEDIATOR
  parley partner mediators --party-id ID M1,M2|none   a request with ID may name one of these
  parley partner relays --party-id ID on|off          (on a mediator) relay for ID
  parley partner rotate --party-id ID --jwks FILE [--roles …] [--valid-from ISO] [--valid-until ISO]
  parley partner revoke --party-id ID --kid KID --reason TEXT [--at ISO]
  parley exchange export --partner ID --out FILE
  parley exchange import FILE [--out REPLY_FILE]
  parley message show MSG_ID|DIGEST
(the node is PARLEY_URL, default http://127.0.0.1:$PORT; the token PARLEY_TOKEN, else a development admin token)
`;

const keyOptions = {
  jwks: { type: 'string' },
  roles: { type: 'string' },
  'valid-from': { type: 'string' },
  'valid-until': { type: 'string' },
} as const;

async function keysBody(v: {
  jwks?: string | undefined;
  roles?: string | undefined;
  'valid-from'?: string | undefined;
  'valid-until'?: string | undefined;
}) {
  if (!v.jwks) throw new UsageError('--jwks FILE is required');
  return {
    jwks: JSON.parse(await fs.readFile(v.jwks, 'utf8')) as unknown,
    ...(v.roles ? { roles: v.roles.split(',') } : {}),
    ...(v['valid-from'] ? { validFrom: v['valid-from'] } : {}),
    ...(v['valid-until'] ? { validUntil: v['valid-until'] } : {}),
  };
}

class UsageError extends Error {}

/** on|off as a boolean; undefined for anything else. */
const onOff = (value: string): boolean | undefined =>
  value === 'on' ? true : value === 'off' ? false : undefined;

/** The registry settings of a partner set one at a time: what each takes, and the change it makes. */
const PARTNER_SETTINGS: Record<
  string,
  { takes: string; change(value: string): Record<string, unknown> | undefined }
> = {
  via: {
    takes: 'MEDIATOR or none',
    change: (v) => ({ via: v === 'none' ? null : v }),
  },
  mediators: {
    takes: 'MEDIATOR[,MEDIATOR…] or none',
    change: (v) => ({ mediators: v === 'none' ? [] : mediatorList(v) }),
  },
  relays: {
    takes: 'on or off',
    change: (v) => (onOff(v) === undefined ? undefined : { relays: onOff(v) }),
  },
  seal: {
    takes: 'on or off',
    change: (v) => (onOff(v) === undefined ? undefined : { sealContent: onOff(v) }),
  },
};

/** `party-m,party-x` as a list of party ids. */
const mediatorList = (value: string): string[] =>
  value
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);

async function run(argv: string[]): Promise<number> {
  const [group, sub, ...rest] = argv;
  const key = `${group} ${sub}`;
  if (key === 'partner list') return report(await callNode('GET', '/v1/admin/partners'));
  if (key === 'partner add') {
    const { values } = parseArgs({
      args: rest,
      options: {
        'party-id': { type: 'string' },
        name: { type: 'string' },
        'inbox-url': { type: 'string' },
        seal: { type: 'boolean' },
        via: { type: 'string' },
        mediators: { type: 'string' },
        relays: { type: 'boolean' },
        ...keyOptions,
      },
    });
    return report(
      await callNode('POST', '/v1/admin/partners', {
        partyId: values['party-id'],
        name: values.name,
        inboxUrl: values['inbox-url'],
        ...(values.seal ? { sealContent: true } : {}),
        ...(values.via ? { via: values.via } : {}),
        ...(values.mediators ? { mediators: mediatorList(values.mediators) } : {}),
        ...(values.relays ? { relays: true } : {}),
        ...(await keysBody(values)),
      }),
    );
  }
  // One registry setting of one partner: `partner via|mediators|relays|seal --party-id ID VALUE`.
  const setting = PARTNER_SETTINGS[sub ?? ''];
  if (group === 'partner' && setting) {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { 'party-id': { type: 'string' } },
      allowPositionals: true,
    });
    const [value] = positionals;
    const change = value === undefined ? undefined : setting.change(value);
    if (!values['party-id'] || !change)
      throw new UsageError(`--party-id and ${setting.takes} are required`);
    return report(
      await callNode(
        'PATCH',
        `/v1/admin/partners/${encodeURIComponent(values['party-id'])}`,
        change,
      ),
    );
  }
  if (key === 'partner rotate') {
    const { values } = parseArgs({
      args: rest,
      options: { 'party-id': { type: 'string' }, ...keyOptions },
    });
    if (!values['party-id']) throw new UsageError('--party-id is required');
    return report(
      await callNode(
        'POST',
        `/v1/admin/partners/${encodeURIComponent(values['party-id'])}/keys`,
        await keysBody(values),
      ),
    );
  }
  if (key === 'partner revoke') {
    const { values } = parseArgs({
      args: rest,
      options: {
        'party-id': { type: 'string' },
        kid: { type: 'string' },
        reason: { type: 'string' },
        at: { type: 'string' },
      },
    });
    if (!values['party-id'] || !values.kid)
      throw new UsageError('--party-id and --kid are required');
    return report(
      await callNode(
        'POST',
        `/v1/admin/partners/${encodeURIComponent(values['party-id'])}/keys/${encodeURIComponent(values.kid)}/revoke`,
        {
          reason: values.reason,
          ...(values.at ? { revokedAt: values.at } : {}),
        },
      ),
    );
  }
  if (key === 'exchange export') {
    const { values } = parseArgs({
      args: rest,
      options: { partner: { type: 'string' }, out: { type: 'string' } },
    });
    if (!values.partner || !values.out) throw new UsageError('--partner and --out are required');
    const answer = await callNode(
      'GET',
      `/v1/admin/exchange/export?partner=${encodeURIComponent(values.partner)}`,
    );
    if (answer.status !== 200) return report(answer);
    const bundle = answer.body as { messages: unknown[]; receipts: unknown[] };
    await fs.writeFile(values.out, JSON.stringify(bundle) + '\n', { flag: 'wx' });
    process.stdout.write(
      `${bundle.messages.length} messages and ${bundle.receipts.length} receipts written to ${values.out}\n`,
    );
    return 0;
  }
  if (key === 'exchange import') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { out: { type: 'string' } },
    });
    if (!positionals[0]) throw new UsageError('the bundle FILE is required');
    const answer = await callNode(
      'POST',
      '/v1/admin/exchange/import',
      JSON.parse(await fs.readFile(positionals[0], 'utf8')),
    );
    if (answer.status !== 200) return report(answer);
    const { results, reply } = answer.body as {
      results: { kind: string; digest: string; outcome: string }[];
      reply: { receipts: unknown[] };
    };
    for (const r of results)
      process.stdout.write(`${r.kind.padEnd(8)} ${r.digest}  ${r.outcome}\n`);
    if (values.out) {
      await fs.writeFile(values.out, JSON.stringify(reply) + '\n', { flag: 'wx' });
      process.stdout.write(
        `${reply.receipts.length} receipts to carry back written to ${values.out}\n`,
      );
    }
    return results.every((r) => r.outcome === 'accepted' || r.outcome === 'applied') ? 0 : 1;
  }
  if (key.startsWith('message show') && rest[0] === undefined && sub === 'show') {
    throw new UsageError('MSG_ID or DIGEST is required');
  }
  if (group === 'message' && sub === 'show')
    return report(await callNode('GET', `/v1/messages/${encodeURIComponent(rest[0]!)}`));
  throw new UsageError('');
}

export async function registryCommand(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write((err.message ? err.message + '\n' : '') + USAGE);
    return 2;
  }
}
