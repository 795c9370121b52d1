// The `parley` command: one subcommand per file under cli/commands/.
import { UnreachableError } from './api-client.js';
import { authCommand, USAGE as AUTH_USAGE } from './commands/auth.js';
import { conformanceCommand, USAGE as CONFORMANCE_USAGE } from './commands/conformance.js';
import { evidenceCommand, USAGE as EVIDENCE_USAGE } from './commands/evidence.js';
import {
  SEND_USAGE,
  sendCommand,
  SIGN_USAGE,
  signCommand,
  VERIFY_USAGE,
  verifyCommand,
} from './commands/envelope.js';
import { keysCommand, USAGE as KEYS_USAGE } from './commands/keys.js';
import { registryCommand, USAGE as REGISTRY_USAGE } from './commands/registry.js';
import { requestCommand, USAGE as REQUEST_USAGE } from './commands/request.js';
import { seedCommand, USAGE as SEED_USAGE } from './commands/seed.js';
import {
  API_USAGE,
  apiCommand,
  startCommand,
  USAGE as START_USAGE,
  WORKER_USAGE,
  workerCommand,
} from './commands/start.js';
import { tokenCommand, USAGE as TOKEN_USAGE } from './commands/token.js';
import { loadDotEnv } from './env.js';

const USAGE = `usage: parley <command> [options]

commands:
  start                      run a whole node (Temporal, Postgres, worker, API) in the foreground
  api                        run the node's HTTP API and background jobs only (one of N replicas)
  worker                     run the node's Temporal worker only (one of N replicas)
  token --role R --sub ID    mint a development bearer token (R: officer, supervisor, admin)
  auth init-dev              create the development token issuer key in the data folder
  keys generate|list|jwks    this node's own signing keys (files in the keys folder)
  sign                       sign a message body into an envelope with a key file
  verify                     verify an envelope against a partner's JWKS file
  send                       post an envelope to an inbox URL
  partner list|add|rotate|revoke   the partner registry of a running node
  exchange export|import     store and forward: carry envelopes and receipts by file
  message show ID            a stored message exactly as exchanged
  request create|list|show|act|respond|attach   officers' work on requests, through the node's API
  evidence export|verify     a request's evidence bundle, and its offline check
  seed [--partner ID]        fill the running node with demo requests in every state
  conformance --url INBOX    test a partner's inbox against wire protocol v1 (conformance kit)

\`parley <command> --help\` shows a command's options.

exit codes:
  0  done (for start, api, worker: stopped by Ctrl-C or SIGTERM)
  1  the command ran and the outcome is a failure: the node answered with an error, an envelope
     or evidence bundle does not verify, an import or seed step failed, a node stopped by a failure
  2  usage or configuration: unknown command or option, a missing or bad value, a busy port
  3  a URL could not be reached (the node at PARLEY_URL, a partner inbox); the message names it
`;

/** Each command's usage, printed by `parley <command> --help` (exit code 0). */
const HELP: Record<string, string> = {
  start: START_USAGE,
  api: API_USAGE,
  worker: WORKER_USAGE,
  token: TOKEN_USAGE,
  auth: AUTH_USAGE,
  keys: KEYS_USAGE,
  sign: SIGN_USAGE,
  verify: VERIFY_USAGE,
  send: SEND_USAGE,
  partner: REGISTRY_USAGE,
  exchange: REGISTRY_USAGE,
  message: REGISTRY_USAGE,
  request: REQUEST_USAGE,
  evidence: EVIDENCE_USAGE,
  seed: SEED_USAGE,
  conformance: CONFORMANCE_USAGE,
};

const wantsHelp = (args: readonly string[]) => {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

async function run(command: string | undefined, rest: string[]): Promise<number> {
  switch (command) {
    case 'start':
      return startCommand(rest);
    case 'api':
      return apiCommand(rest);
    case 'worker':
      return workerCommand(rest);
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
    case 'conformance':
      return conformanceCommand(rest);
    case 'request':
      return requestCommand(rest);
    case 'partner':
    case 'exchange':
    case 'message':
      return registryCommand([command, ...rest]);
    default:
      throw new Error(`no command ${command}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    const topic = command === 'help' ? rest[0] : undefined;
    process.stdout.write(topic && HELP[topic] ? HELP[topic] : USAGE);
    return 0;
  }
  const help = HELP[command];
  if (help === undefined) {
    process.stderr.write(`unknown command: ${command}\n${USAGE}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(help);
    return 0;
  }
  loadDotEnv();
  try {
    return await run(command, rest);
  } catch (err) {
    // node:util parseArgs: an unknown option, a missing value, a stray positional.
    if (/^ERR_PARSE_ARGS_/.test((err as { code?: string }).code ?? '')) {
      process.stderr.write(`parley ${command}: ${(err as Error).message}\n${help}`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`parley: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof UnreachableError ? 3 : 1);
  },
);
