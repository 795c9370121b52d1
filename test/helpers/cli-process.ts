// Runs the `parley` command as a separate process, as a user (or an operator's service manager) would.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** Runs `parley start` as a user would, and collects its output. */
export function startCli(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  up: Promise<void>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/parley.ts', 'start'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const up = new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      output += c.toString();
      if (output.includes('Parley node is up')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`parley start exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output, up };
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}
