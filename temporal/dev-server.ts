// Runs the Temporal dev server (official CLI, SQLite file) as a child process of the node or of
// the test run, and stops it cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';

export interface DevServerOptions {
  cliPath: string;
  port: number;
  /** Web UI port; omit to run headless. */
  uiPort?: number;
  dbFile: string;
  namespaces?: string[];
  /** Trade durability for speed (test runs): WAL and no fsync. */
  fastSqlite?: boolean;
  readyTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  pid: number | undefined;
  stop(): Promise<void>;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts of a dev server that exited before it was ready, after which the last one's error stands. */
const EARLY_EXIT_ATTEMPTS = 3;

/**
 * Starts the dev server and waits until it answers. One that exits before it is ready is started
 * again (at most EARLY_EXIT_ATTEMPTS starts): the CLI picks free ports for its internal services at
 * start, and another process can take one of them before the server binds it.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(opts);
    } catch (err) {
      if (!(err instanceof EarlyExit) || attempt >= EARLY_EXIT_ATTEMPTS) throw err;
    }
  }
}

/** The dev server process ended before it answered. */
class EarlyExit extends Error {}

async function startDevServerOnce(opts: DevServerOptions): Promise<DevServer> {
  if (await portInUse(opts.port)) {
    throw new Error(
      `port ${opts.port} is already in use, so the Temporal dev server cannot start there ` +
        '(is another node running? set TEMPORAL_DEV_PORT, or TEMPORAL_ADDRESS to use that server)',
    );
  }
  fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port)];
  args.push('--db-filename', opts.dbFile, '--log-level', 'warn', '--log-format', 'json');
  args.push(...(opts.uiPort ? ['--ui-port', String(opts.uiPort)] : ['--headless']));
  if (opts.fastSqlite)
    args.push('--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF');
  for (const ns of opts.namespaces ?? []) args.push('--namespace', ns);

  // Both streams are read (and only their tails kept): a fatal error may be printed on either.
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Never leave the server behind, even when this process exits without stopping it.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let outputTail = '';
  const keepTail = (chunk: Buffer) => {
    outputTail = (outputTail + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  const address = `127.0.0.1:${opts.port}`;
  const server: DevServer = {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 2000);
      }
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      throw new EarlyExit(
        `the Temporal dev server exited with code ${child.exitCode}: ${outputTail.trim()}`,
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1 second' });
      try {
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace: 'default' });
      } finally {
        await connection.close();
      }
      return server;
    } catch (err) {
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(
          `the Temporal dev server did not become ready at ${address}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
