// The first Temporal CLI build says what it is doing while it runs: a `go` that behaves as the real
// one does (module downloads, then one compile per package, then the link) and waits between its
// phases until the test has seen the progress line it expects.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { goInstallWithProgress } from '../../temporal/go-build-progress.js';
import { eventually } from '../helpers/partners.js';

const FAKE_GO = `#!/bin/sh
# $1 = install, $2 = -x, $3 = target
[ "$1" = install ] && [ "$2" = -x ] || { echo "unexpected arguments: $*" >&2; exit 9; }
waitfor() { while [ ! -f "$STEPS/$1" ]; do sleep 0.02; done; }
echo "go: downloading go.temporal.io/server v1.29.1" >&2
echo "go: downloading github.com/gogo/protobuf v1.3.2" >&2
echo "go: downloading google.golang.org/grpc v1.72.0" >&2
waitfor compile
for p in internal/abi go.temporal.io/server/common; do
  echo "/usr/local/go/pkg/tool/linux_amd64/compile -o \\$WORK/b001/_pkg_.a -trimpath x -p $p -lang=go1.24" >&2
done
waitfor link
echo "GOROOT='/usr/local/go' /usr/local/go/pkg/tool/linux_amd64/link -o \\$WORK/b001/exe/a.out" >&2
waitfor finish
[ -n "$FAIL" ] && { echo "some/pkg/file.go:3:1: syntax error" >&2; exit 1; }
exit 0
`;

const until = (what: string, ok: () => boolean) =>
  eventually(() => Promise.resolve(ok() ? true : undefined), 20_000, what);

describe('building the Temporal CLI', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  async function fakeGo(): Promise<{
    go: string;
    steps: string;
    step: (name: string) => Promise<void>;
  }> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-fake-go-'));
    dirs.push(dir);
    const go = path.join(dir, 'go');
    await fs.writeFile(go, FAKE_GO, { mode: 0o755 });
    const steps = path.join(dir, 'steps');
    await fs.mkdir(steps);
    return { go, steps, step: (name) => fs.writeFile(path.join(steps, name), '') };
  }

  it('prints the phase, how far it got and the time elapsed, again and again while a phase lasts', async () => {
    const { go, steps, step } = await fakeGo();
    const lines: string[] = [];
    const build = goInstallWithProgress({
      go,
      target: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
      env: { ...process.env, STEPS: steps },
      log: (l) => lines.push(l),
      intervalMs: 50,
    });
    // Downloading: said when it starts, then repeated with the count while nothing else happens.
    const downloading =
      /^ {2}\d+m\d\ds {2}downloading modules, 3 so far \(last google\.golang\.org\/grpc v1\.72\.0\)$/;
    await until(
      'two download progress lines',
      () => lines.filter((l) => downloading.test(l)).length >= 2,
    );
    await step('compile');
    const compiling =
      /^ {2}\d+m\d\ds {2}compiling, 2 packages so far \(last started: go\.temporal\.io\/server\/common\)$/;
    await until('a compile progress line', () => lines.some((l) => compiling.test(l)));
    await step('link');
    await until('the link', () => lines.some((l) => / {2}linking$/.test(l)));
    await step('finish');
    await build;
    expect(lines.at(-1)).toMatch(
      /^ {2}\d+m\d\ds {2}done \(3 modules downloaded, 2 packages compiled\)$/,
    );
    const count = lines.length;
    // No progress line after the build ended.
    await new Promise((r) => setImmediate(r));
    expect(lines.length).toBe(count);
  });

  it('a failed build says in which phase, after how long, and what go said last', async () => {
    const { go, steps, step } = await fakeGo();
    await Promise.all(['compile', 'link', 'finish'].map(step));
    await expect(
      goInstallWithProgress({
        go,
        target: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
        env: { ...process.env, STEPS: steps, FAIL: '1' },
        log: () => undefined,
      }),
    ).rejects.toThrow(
      /exited with 1 after \d+m\d\ds, while linking; its last output:\n(.|\n)*some\/pkg\/file\.go:3:1: syntax error/,
    );
  });
});
