// Runs `go install` and says what it is doing while it does: the phase (downloading modules,
// compiling, linking), how far it got, and the time elapsed, at least every 15 s. A first build of
// the Temporal CLI takes minutes with no output of its own; this is what the user sees meanwhile.
import { spawn } from 'node:child_process';

export type BuildPhase = 'looking up the module' | 'downloading modules' | 'compiling' | 'linking';

export interface GoInstallOptions {
  go: string;
  /** The package to install, `module/path@version`. */
  target: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** How often a line is printed when nothing else changed (default 15 s). */
  intervalMs?: number;
}

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * `go install -x TARGET`, with its command trace read for progress: `go: downloading M V` lines
 * while modules are fetched, one compile command (`-p PACKAGE`) per package, then the link.
 */
export async function goInstallWithProgress(opts: GoInstallOptions): Promise<void> {
  const started = Date.now();
  let phase: BuildPhase = 'looking up the module';
  let modules = 0;
  let packages = 0;
  let last = '';
  const tail: string[] = [];
  const status = () => {
    const detail =
      phase === 'downloading modules'
        ? `, ${modules} so far${last ? ` (last ${last})` : ''}`
        : phase === 'compiling'
          ? `, ${packages} packages so far${last ? ` (last started: ${last})` : ''}`
          : '';
    return `  ${elapsed(Date.now() - started)}  ${phase}${detail}`;
  };
  const enter = (next: BuildPhase) => {
    if (phase === next) return;
    phase = next;
    last = '';
    opts.log(status());
  };
  const timer = setInterval(() => opts.log(status()), opts.intervalMs ?? 15_000);

  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
    const download = /^go: downloading (\S+) (\S+)/.exec(line);
    if (download) {
      modules += 1;
      enter('downloading modules');
      last = `${download[1]} ${download[2]}`;
      return;
    }
    const compile = /\/compile\s.*?\s-p\s+(\S+)/.exec(line);
    if (compile) {
      packages += 1;
      enter('compiling');
      last = compile[1] ?? '';
      return;
    }
    if (/\/link\s+-o\s/.test(line)) enter('linking');
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(opts.go, ['install', '-x', opts.target], {
        env: opts.env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let pending = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) onLine(l);
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (pending) onLine(pending);
        if (code === 0) resolve();
        else
          reject(
            new Error(
              `go install ${opts.target} exited with ${code} after ${elapsed(Date.now() - started)}, ` +
                `while ${phase}; its last output:\n${tail.join('\n')}`,
            ),
          );
      });
    });
  } finally {
    clearInterval(timer);
  }
  opts.log(
    `  ${elapsed(Date.now() - started)}  done (${modules} modules downloaded, ${packages} packages compiled)`,
  );
}
