/**
 * Removing test and bench folders. On ext4 without a journal (the machines this project is
 * measured on), the inode allocator skips inodes freed in the last minutes, checking each one,
 * so after a folder of thousands of small files is removed every file created nearby costs
 * about 30 times more system time (measured: 25 µs → 750-900 µs per create) until they age out.
 * A bench therefore defers its removals to its end (deferFolderRemoval), so one section's
 * cleanup does not slow the next one's uploads.
 */
import { rm } from 'node:fs/promises';

let deferred: string[] | undefined;

/** From now on removeFolder only notes its folder; removeDeferredFolders removes them. */
export function deferFolderRemoval(): void {
  deferred ??= [];
}

export async function removeFolder(path: string): Promise<void> {
  if (deferred) deferred.push(path);
  else await rm(path, { recursive: true, force: true });
}

export async function removeDeferredFolders(): Promise<void> {
  const paths = deferred ?? [];
  deferred = undefined;
  for (const p of paths) await rm(p, { recursive: true, force: true });
}
