// `parley start`: runs a whole node in the foreground until Ctrl-C or SIGTERM. `parley api` and
// `parley worker`: one process role each, for running N of either beside each other.
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import {
  startNode,
  startWorker,
  type NodeRole,
  type RunningNode,
  type RunningWorker,
} from '../../node/start-node.js';

const STOP_DEADLINE_MS = 10_000;

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

function workerBanner(node: RunningWorker): string {
  const c = node.config;
  return [
    '',
    'Parley worker is up',
    ...table([
      ['party', c.partyId],
      [
        'Temporal',
        `${node.temporal.address} (namespace ${c.temporal.namespace}, task queue ${c.temporal.taskQueue})`,
      ],
      ['database', node.database.describe],
    ]),
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}

function banner(node: RunningNode, role: NodeRole): string {
  const c = node.config;
  const rows: [string, string][] = [
    ['party', c.partyId],
    ['API', node.url],
    ['dashboard', `${node.url}/dashboard`],
    ['API docs', `${node.url}/docs  (${node.url}/openapi.json)`],
    ['health', `${node.url}/healthz  ${node.url}/readyz  ${node.url}/metrics`],
    [
      'Temporal',
      `${node.temporal.address} (namespace ${c.temporal.namespace}, task queue ${c.temporal.taskQueue})`,
    ],
    ['Temporal UI', node.temporal.uiUrl ?? '(not configured)'],
    ['database', node.database.describe],
    ['data folder', c.dataDir],
    ['token', 'npm run token -- --role officer --sub alice'],
  ];
  return [
    '',
    role === 'api'
      ? 'Parley API is up (no worker in this process: run parley worker beside it)'
      : `Parley node is up (${c.temporal.kind === 'embedded' ? 'embedded Temporal dev server' : 'external Temporal'})`,
    ...table(rows),
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}

export const USAGE = `usage: parley start
  runs a whole node in the foreground until Ctrl-C or SIGTERM: the embedded Temporal dev server
  (or TEMPORAL_ADDRESS), PGlite (or DATABASE_URL), the worker and the API. It takes no options:
  environment variables (and a .env file in the working folder) configure it; README.md lists them
  exit code 0 stopped by Ctrl-C or SIGTERM, 1 failed or stopped by a failure, 2 a configuration
  problem (a bad variable, a busy port, no token issuer)
`;

const ROLE_NEEDS = `  Every process of the node shares one Temporal service and one Postgres database:
  TEMPORAL_ADDRESS (with TEMPORAL_NAMESPACE, TLS or TEMPORAL_API_KEY) and DATABASE_URL must be set
  (exit code 2 names what is missing), and so must, the same in every process, the signing keys
  (PARLEY_KEYS_DIR), the Temporal payload keys (TEMPORAL_CODEC_KEYS or TEMPORAL_CODEC_KEY_FILE) and,
  for the API, the token issuer (AUTH_JWKS_URL or AUTH_JWKS_FILE). README.md, "Running beyond one
  machine", says more. It takes no options.
`;

export const API_USAGE = `usage: parley api
  runs this node's HTTP API in the foreground until Ctrl-C or SIGTERM: officers' and supervisors'
  routes, the dashboard, the partners' inbox and witness endpoint, and the node's background jobs
  (the relay of stored messages to their workflows, the audit log's integration, checkpoints and
  witness rounds, the retention sweep, resumption of pending deliveries). Any number of API
  processes may run: each background job runs in one of them at a time (a Postgres advisory lock).
  It runs no Temporal worker: start parley worker processes beside it.
${ROLE_NEEDS}  exit code 0 stopped by Ctrl-C or SIGTERM, 1 failed, 2 a configuration problem
`;

export const WORKER_USAGE = `usage: parley worker
  runs this node's Temporal worker in the foreground until Ctrl-C or SIGTERM: the request
  workflows and their activities (signing, delivering, projecting, notifying). Any number of worker
  processes may poll the node's task queue; the work of one that dies moves to the others (a
  delivery attempt after 10 s, a workflow task after 3 s). It serves no HTTP: run parley api.
${ROLE_NEEDS}  exit code 0 stopped by Ctrl-C or SIGTERM, 1 failed or the worker stopped by a failure,
  2 a configuration problem
`;

export function startCommand(argv: string[] = []): Promise<number> {
  return runRole('all', argv);
}

export function apiCommand(argv: string[] = []): Promise<number> {
  return runRole('api', argv);
}

export function workerCommand(argv: string[] = []): Promise<number> {
  return runRole('worker', argv);
}

const NAMES: Record<NodeRole, string> = { all: 'start', api: 'api', worker: 'worker' };
const USAGES: Record<NodeRole, string> = { all: USAGE, api: API_USAGE, worker: WORKER_USAGE };

async function runRole(role: NodeRole, argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write(
      `parley ${NAMES[role]} takes no arguments (got ${argv.join(' ')})\n${USAGES[role]}`,
    );
    return 2;
  }
  let config: Config;
  let log: Logger;
  let node: RunningNode | RunningWorker;
  try {
    config = loadConfig(process.env);
    log = pino({
      level: config.logLevel,
      base: role === 'all' ? { party: config.partyId } : { party: config.partyId, role },
    });
    // startNode checks what the role needs, ports and the token issuer before it touches anything.
    if (role === 'worker') {
      const w = await startWorker(config, { log });
      process.stdout.write(workerBanner(w));
      node = w;
    } else {
      const n = await startNode(config, { log, role });
      process.stdout.write(banner(n, role));
      node = n;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee the configuration table in README.md.\n`);
      return 2;
    }
    throw err;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      // Ctrl-C reaches both this process and any wrapper (npm, tsx) that relays it again:
      // repeated signals are expected and must not cut a clean stop short.
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      setTimeout(() => {
        log.error('stop took longer than 10 s; exiting');
        resolve(1);
      }, STOP_DEADLINE_MS).unref();
      void node.stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void node.stopped.then(() => {
      log.info('stopped');
      resolve(stopping ? 0 : 1);
    });
  });
}
