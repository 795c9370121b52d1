// Finds the official Temporal CLI (the dev server), building the pinned release from Go source
// into the git-ignored tools folder when the machine has none. Used by setup, start and tests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { goInstallWithProgress } from './go-build-progress.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TOOLS_BIN = fileURLToPath(new URL('../.tools/bin/', import.meta.url));

/** Where Go usually lives when it is installed but not on PATH (as on the CI machines). */
const GO_FALLBACKS = ['/usr/local/go/bin/go', '/usr/lib/go/bin/go'];

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export type CliSource = 'TEMPORAL_CLI_PATH' | 'tools folder' | 'PATH' | 'built now';

/** Looks for the CLI without building: TEMPORAL_CLI_PATH, then the tools folder, then PATH. */
export function findTemporalCli(
  explicit = process.env.TEMPORAL_CLI_PATH,
): { path: string; source: CliSource } | undefined {
  if (explicit) {
    if (!isExecutable(explicit))
      throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return { path: explicit, source: 'TEMPORAL_CLI_PATH' };
  }
  const tools = path.join(TOOLS_BIN, 'temporal');
  if (isExecutable(tools)) return { path: tools, source: 'tools folder' };
  const found = onPath('temporal');
  return found ? { path: found, source: 'PATH' } : undefined;
}

export function findGo(): string | undefined {
  return onPath('go') ?? GO_FALLBACKS.find(isExecutable);
}

/**
 * Returns the CLI's path, building it with `go install` when none is found. The first build takes
 * several minutes; Go's module and build caches make later ones quick.
 */
export async function ensureTemporalCli(
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  explicit = process.env.TEMPORAL_CLI_PATH,
): Promise<{ path: string; source: CliSource }> {
  const found = findTemporalCli(explicit);
  if (found) return found;
  const go = findGo();
  if (!go) {
    throw new Error(
      'The Temporal CLI was not found (TEMPORAL_CLI_PATH, .tools/bin/temporal, PATH) and Go is not ' +
        'installed to build it. Install Go 1.24 or later (https://go.dev/dl, or `apt-get install golang`), ' +
        `or put the Temporal CLI ${TEMPORAL_CLI_VERSION} on PATH, or set TEMPORAL_CLI_PATH.`,
    );
  }
  fs.mkdirSync(TOOLS_BIN, { recursive: true });
  log(
    `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} from source with ${go} (first time: several minutes)...`,
  );
  const started = Date.now();
  await goInstallWithProgress({
    go,
    target: `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`,
    env: { ...process.env, GOBIN: TOOLS_BIN, CGO_ENABLED: '0' },
    log,
  });
  const built = path.join(TOOLS_BIN, 'temporal');
  if (!isExecutable(built)) throw new Error(`go install finished but ${built} is missing`);
  log(`Temporal CLI built in ${Math.round((Date.now() - started) / 1000)} s: ${built}`);
  return { path: built, source: 'built now' };
}
