import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syncDirGrouped, writeFileAtomic } from '../src/common/index.js';

describe('atomic files', () => {
  it('writeFileAtomic replaces the content and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fdfs-atomic-'));
    const path = join(dir, 'state.dat');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['state.dat']);
  });

  it('grouped directory syncs all resolve, and a missing directory rejects every waiter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fdfs-dirsync-'));
    await expect(Promise.all(Array.from({ length: 50 }, () => syncDirGrouped(dir)))).resolves.toHaveLength(
      50,
    );
    // A later call after the group settled starts a new sync rather than reusing a stale one.
    await expect(syncDirGrouped(dir)).resolves.toBeUndefined();
    const missing = join(dir, 'nope');
    const results = await Promise.allSettled([syncDirGrouped(missing), syncDirGrouped(missing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
