/** A pid file that a killed process never leaves as a lock: a pid that is not alive is stale. */
import { readFile, rm } from 'node:fs/promises';
import { FdfsError, Status, writeFileAtomic } from '../common/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquirePidFile(path: string): Promise<() => Promise<void>> {
  const old = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(old) && old > 0 && old !== process.pid && alive(old)) {
    throw new FdfsError(
      Status.EBUSY,
      `another instance (pid ${old}) is running with ${path}; stop it or use another --base-path`,
    );
  }
  await writeFileAtomic(path, `${process.pid}\n`);
  return () => rm(path, { force: true });
}
