/** What a storage of `fdfs start` holds on disk: to prove that a refused or aborted upload left nothing. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every stored file (and metadata sidecar) in the store path's HH/LL folders plus any temp
 * file, relative to data/; state files the storage rewrites on its own are left out.
 */
export async function storedNames(base: string): Promise<string[]> {
  const data = join(base, 'storage', 'data');
  const all = (await readdir(data, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(data.length + 1));
  return all.filter((p) => /^(?:[0-9A-F]{2}\/[0-9A-F]{2}|\.tmp)\//.test(p)).sort();
}

/** Temp files of uploads in progress. */
export function tempNames(base: string): Promise<string[]> {
  return readdir(join(base, 'storage', 'data', '.tmp'));
}
