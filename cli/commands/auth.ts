// `parley auth init-dev`: creates the development token issuer in the data folder.
import path from 'node:path';
import { devIssuerPaths, Env } from '../../config.js';
import { ensureDevIssuer } from '../../node/dev-issuer.js';

export const USAGE = `usage: parley auth init-dev
  creates the development token issuer's key in the data folder (PARLEY_DATA_DIR/auth) unless it
  is there; \`parley token\` mints with it and a node with AUTH_DEV_ISSUER on trusts it
`;

export async function authCommand(argv: string[]): Promise<number> {
  if (argv[0] !== 'init-dev' || argv.length > 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const dataDir = path.resolve(
    Env.pick({ PARLEY_DATA_DIR: true }).parse(process.env).PARLEY_DATA_DIR,
  );
  const created = await ensureDevIssuer(dataDir);
  const paths = devIssuerPaths(dataDir);
  process.stdout.write(
    `${created ? 'created' : 'already there'}: ${paths.privateJwk}\npublic key set: ${paths.jwks}\n`,
  );
  return 0;
}
