// `parley evidence export|verify`: the evidence bundle of a request, and its offline check.
// `verify` reads only the file and the trusted key fingerprints: no database, Temporal or network.
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { verifyBundle, type TrustAnchors } from '../../audit/verify-bundle.js';
import type { DecryptionKey } from '../../protocol/keys.js';
import { loadKeyring } from '../../protocol/keyring.js';
import { callNode, report } from '../api-client.js';

export const USAGE = `usage:
  parley evidence export --request ID --out FILE [--attachments]
      fetch the evidence bundle of a request from the running node (PARLEY_URL, PARLEY_TOKEN);
      with --attachments, the files its messages carry are included
  parley evidence verify FILE --trust PARTY=KID[,KID...] [--trust ...] [--open KEYDIR] [--json]
      check every signature, digest, proof and cosignature of a bundle offline; KID is an RFC 7638
      key fingerprint the party published (\`parley keys list\`, /.well-known/jwks.json); items
      given by digest only (content withheld or erased) are marked [digest only]. A mediated
      request's bundle is checked with the mediator's fingerprints too (--trust MEDIATOR=KID).
      With --open, the encryption keys in KEYDIR (a node's key folder) open the sealed envelopes
      addressed to it and check their content; --json then lists the opened payloads
  exit code 0 verified (export: written), 1 not verified (or the node refused), 2 usage,
  3 the node could not be reached
`;

export async function evidenceCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'export') {
    const { values } = parseArgs({
      args: rest,
      options: {
        request: { type: 'string' },
        out: { type: 'string' },
        attachments: { type: 'boolean' },
      },
    });
    if (!values.request || !values.out) {
      process.stderr.write(USAGE);
      return 2;
    }
    const answer = await callNode(
      'GET',
      `/v1/requests/${encodeURIComponent(values.request)}/evidence${values.attachments ? '?attachments=true' : ''}`,
    );
    if (answer.status !== 200) return report(answer);
    await fs.writeFile(values.out, JSON.stringify(answer.body, null, 2) + '\n', { flag: 'wx' });
    process.stdout.write(`evidence bundle written to ${values.out}\n`);
    return 0;
  }
  if (sub === 'verify') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        trust: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        open: { type: 'string' },
      },
    });
    const file = positionals[0];
    if (!file || !values.trust?.length) {
      process.stderr.write(USAGE);
      return 2;
    }
    const trust: TrustAnchors = {};
    for (const t of values.trust) {
      const [party, kids] = t.split('=');
      if (!party || !kids) {
        process.stderr.write(`--trust takes PARTY=KID[,KID...], not ${t}\n`);
        return 2;
      }
      trust[party] = [...(trust[party] ?? []), ...kids.split(',').filter(Boolean)];
    }
    let input: unknown;
    try {
      input = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      process.stderr.write(`cannot read ${file} as JSON: ${(err as Error).message}\n`);
      return 1;
    }
    let open: readonly DecryptionKey[] | undefined;
    if (values.open) {
      try {
        open = (await loadKeyring(values.open)).decryptionKeys;
      } catch (err) {
        process.stderr.write(`cannot read keys in ${values.open}: ${(err as Error).message}\n`);
        return 1;
      }
      if (open.length === 0) {
        process.stderr.write(`${values.open} holds no encryption key\n`);
        return 1;
      }
    }
    const result = await verifyBundle(input, trust, open ? { open } : {});
    // Keys of the bundle the reader did not trust: every signature made with them fails, so
    // listing those failures one by one (inclusion proofs, envelopes) would only hide the cause.
    const untrusted = Object.entries(result.fingerprints)
      .map(
        ([party, kids]) => [party, kids.filter((k) => !(trust[party] ?? []).includes(k))] as const,
      )
      .filter(([, kids]) => kids.length > 0);
    if (values.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else if (untrusted.length > 0) {
      const failed = result.verdicts.filter((v) => !v.ok).length;
      process.stdout.write(
        'NOT VERIFIED: the bundle is signed with keys you did not say you trust:\n' +
          untrusted.map(([party, kids]) => `  ${party}: ${kids.join(', ')}\n`).join('') +
          `Nothing signed with them can be checked (${failed} of ${result.verdicts.length} checks ` +
          'failed; --json lists each). Compare these fingerprints with those the party published ' +
          '(`parley keys list` on its node, its /.well-known/jwks.json); if they match, run again with\n' +
          untrusted.map(([party, kids]) => `  --trust ${party}=${kids.join(',')}\n`).join(''),
      );
    } else {
      for (const v of result.verdicts)
        process.stdout.write(
          `${v.ok ? 'ok  ' : 'FAIL'}  ${v.item}${v.checked === 'digest' ? ' [digest only]' : ''}: ${v.detail}\n`,
        );
      const failed = result.verdicts.filter((v) => !v.ok).length;
      process.stdout.write(
        result.ok
          ? `\nVERIFIED: all ${result.verdicts.length} items check out.\n`
          : `\nNOT VERIFIED: ${failed} of ${result.verdicts.length} items failed.\n`,
      );
      // Which statements were read and checked, and which only proven to exist by their digest.
      process.stdout.write(
        `Envelopes and receipts checked fully (signature and payload): ${result.checked.full}; ` +
          `by digest only (content withheld or erased; proven by the log): ${result.checked.digest}.\n`,
      );
      if (open)
        process.stdout.write(
          `Sealed envelopes opened with your keys: ${result.opened.length} (--json shows them).\n`,
        );
    }
    return result.ok ? 0 : 1;
  }
  process.stderr.write(USAGE);
  return 2;
}
