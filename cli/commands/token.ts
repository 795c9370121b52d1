// `parley token --role officer --sub alice [--ttl 8h]`: mints a development bearer token.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Env } from '../../config.js';
import { mintDevToken } from '../../node/dev-issuer.js';
import { Role } from '../../schemas/common.js';

const TokenArgs = z.object({
  role: z.array(Role).min(1, 'at least one --role (officer, supervisor or admin)'),
  sub: z.string().min(1, 'a --sub (the user id)'),
  ttl: z
    .string()
    .regex(/^\d+[smhd]?$/, 'a duration such as 900, 15m, 8h or 7d')
    .transform((v) => {
      const n = Number.parseInt(v, 10);
      const unit = v.at(-1);
      return n * (unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86_400 : 1);
    }),
});

export const USAGE = `usage: parley token --role ROLE [--role ROLE ...] --sub USER_ID [--ttl 8h]
  mints a bearer token with the development issuer in the data folder (PARLEY_DATA_DIR) and prints
  it; ROLE is officer, supervisor or admin; --ttl as 900, 15m, 8h or 7d
`;

export async function tokenCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      role: { type: 'string', multiple: true, default: [] },
      sub: { type: 'string', default: '' },
      ttl: { type: 'string', default: '8h' },
    },
  });
  const args = TokenArgs.safeParse(values);
  if (!args.success) {
    process.stderr.write(
      args.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n') + '\n',
    );
    process.stderr.write(USAGE);
    return 2;
  }
  const env = Env.pick({
    PARLEY_DATA_DIR: true,
    AUTH_ISSUER: true,
    AUTH_AUDIENCE: true,
    AUTH_ROLES_CLAIM: true,
  }).parse(process.env);
  const token = await mintDevToken({
    dataDir: path.resolve(env.PARLEY_DATA_DIR),
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    rolesClaim: env.AUTH_ROLES_CLAIM,
    sub: args.data.sub,
    roles: args.data.role,
    ttlSeconds: args.data.ttl,
  });
  process.stdout.write(token + '\n');
  return 0;
}
