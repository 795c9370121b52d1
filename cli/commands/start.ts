// `parley start`: runs a whole node in the foreground until Ctrl-C or SIGTERM.
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { startNode, type RunningNode } from '../../node/start-node.js';

const STOP_DEADLINE_MS = 10_000;

function banner(node: RunningNode): string {
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
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  return [
    '',
    `Parley node is up (${c.temporal.kind === 'embedded' ? 'embedded Temporal dev server' : 'external Temporal'})`,
    ...lines,
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

export async function startCommand(argv: string[] = []): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write(`parley start takes no arguments (got ${argv.join(' ')})\n${USAGE}`);
    return 2;
  }
  let config: Config;
  let log: Logger;
  let node: RunningNode;
  try {
    config = loadConfig(process.env);
    log = pino({ level: config.logLevel, base: { party: config.partyId } });
    // startNode checks ports and the token issuer (preflight) before it touches anything.
    node = await startNode(config, { log });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee the configuration table in README.md.\n`);
      return 2;
    }
    throw err;
  }
  process.stdout.write(banner(node));

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
