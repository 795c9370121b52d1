// Files that must be created exactly once, even by processes starting together on an empty folder
// (replicas of a node sharing their keys folder): written whole under a temporary name, then linked
// to their final name, which fails if another process linked it first. A reader never sees half a
// file, and the first writer's content is the one every process uses.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Creates `file` with `content` (mode `mode`) unless it exists. Returns true when this call
 * created it, false when it was there already (possibly created meanwhile by another process).
 */
export async function createOnce(file: string, content: string, mode = 0o600): Promise<boolean> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  // Not ending in .json: folders are read by extension, so a temporary file is never loaded.
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`,
  );
  await fs.writeFile(tmp, content, { mode, flag: 'wx' });
  try {
    await fs.link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
