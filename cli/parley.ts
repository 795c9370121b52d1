// The `parley` command: one subcommand per file under cli/commands/.
import { authCommand } from './commands/auth.js';
import { evidenceCommand } from './commands/evidence.js';
import { sendCommand, signCommand, verifyCommand } from './commands/envelope.js';
import { keysCommand } from './commands/keys.js';
import { registryCommand } from './commands/registry.js';
import { seedCommand } from './commands/seed.js';
import { startCommand } from './commands/start.js';
import { tokenCommand } from './commands/token.js';
import { loadDotEnv } from './env.js';

const USAGE = `usage: parley <command> [options]

commands:
  start                      run a whole node (Temporal, Postgres, worker, API) in the foreground
  token --role R --sub ID    mint a development bearer token (R: officer, supervisor, admin)
  auth init-dev              create the development token issuer key in the data folder
  keys generate|list|jwks    this node's own signing keys (files in the keys folder)
  sign                       sign a message body into an envelope with a key file
  verify                     verify an envelope against a partner's JWKS file
  send                       post an envelope to an inbox URL
  partner list|add|rotate|revoke   the partner registry of a running node
  exchange export|import     store and forward: carry envelopes and receipts by file
  message show ID            a stored message exactly as exchanged
  evidence export|verify     a request's evidence bundle, and its offline check
  seed [--partner ID]        fill the running node with demo requests in every state
`;

async function main(argv: string[]): Promise<number> {
  loadDotEnv();
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return startCommand();
    case 'token':
      return tokenCommand(rest);
    case 'auth':
      return authCommand(rest);
    case 'keys':
      return keysCommand(rest);
    case 'sign':
      return signCommand(rest);
    case 'verify':
      return verifyCommand(rest);
    case 'send':
      return sendCommand(rest);
    case 'evidence':
      return evidenceCommand(rest);
    case 'seed':
      return seedCommand(rest);
    case 'partner':
    case 'exchange':
    case 'message':
      return registryCommand([command, ...rest]);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command: ${command}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`parley: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
