// `parley keys generate|list|jwks`: this node's own signing keys, kept as files outside git.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Env } from '../../config.js';
import { generateEncryptionKey, generateSigningKey } from '../../protocol/keys.js';
import { loadKeyring, writeKeyFile } from '../../protocol/keyring.js';
import { KeyRole } from '../../schemas/envelope.js';

export const USAGE = `usage:
  parley keys generate [--alg Ed25519|ES256] [--roles message,receipt] [--valid-from ISO] [--valid-until ISO]
  parley keys generate --roles encryption [--valid-from ISO] [--valid-until ISO]
                            an X25519 key partners seal content to (rotation: keep the old file)
  parley keys list
  parley keys jwks          print the public key set to give to partners
`;

function keysDir(): string {
  const env = Env.pick({ PARLEY_DATA_DIR: true, PARLEY_KEYS_DIR: true }).parse(process.env);
  return env.PARLEY_KEYS_DIR
    ? path.resolve(env.PARLEY_KEYS_DIR)
    : path.resolve(env.PARLEY_DATA_DIR, 'keys');
}

const GenerateArgs = z.object({
  alg: z.enum(['Ed25519', 'ES256']),
  roles: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(KeyRole).min(1)),
  'valid-from': z.iso.datetime().optional(),
  'valid-until': z.iso.datetime().optional(),
});

export async function keysCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const dir = keysDir();
  if (sub === 'generate') {
    const { values } = parseArgs({
      args: rest,
      options: {
        alg: { type: 'string', default: 'Ed25519' },
        roles: { type: 'string', default: 'message,receipt' },
        'valid-from': { type: 'string' },
        'valid-until': { type: 'string' },
      },
    });
    const args = GenerateArgs.safeParse(values);
    if (!args.success) {
      process.stderr.write(
        args.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n') +
          '\n' +
          USAGE,
      );
      return 2;
    }
    const validity = {
      ...(args.data['valid-from'] ? { validFrom: new Date(args.data['valid-from']) } : {}),
      validUntil: args.data['valid-until'] ? new Date(args.data['valid-until']) : null,
    };
    const encrypts = args.data.roles.includes('encryption');
    if (encrypts && args.data.roles.length > 1) {
      process.stderr.write('an encryption key has the encryption role and no other\n' + USAGE);
      return 2;
    }
    // An encryption key is X25519 (ECDH-ES+A256KW) whatever --alg says: it never signs.
    const key = encrypts
      ? await generateEncryptionKey(validity)
      : await generateSigningKey({ alg: args.data.alg, roles: args.data.roles, ...validity });
    const file = await writeKeyFile(dir, key);
    process.stdout.write(
      `created ${key.alg} key ${key.kid} (roles ${key.roles.join(', ')})\n  ${file}\n`,
    );
    process.stdout.write(
      'A running node picks it up on restart; give partners `parley keys jwks`.\n',
    );
    return 0;
  }
  if (sub === 'list' || sub === 'jwks') {
    const ring = await loadKeyring(dir);
    if (sub === 'jwks') {
      process.stdout.write(JSON.stringify(ring.jwks(), null, 2) + '\n');
      return 0;
    }
    if (ring.keys.length + ring.decryptionKeys.length === 0)
      process.stdout.write(`no keys in ${dir}\n`);
    for (const k of [
      ...ring.keys,
      ...ring.decryptionKeys.map((d) => ({ ...d, roles: ['encryption'] })),
    ]) {
      process.stdout.write(
        `${k.kid}  ${k.alg.padEnd(7)}  ${k.roles.join(',').padEnd(15)}  from ${k.validFrom.toISOString()}  until ${k.validUntil?.toISOString() ?? '-'}\n`,
      );
    }
    return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}
