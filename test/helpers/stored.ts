/** What a storage of `fdfs start` holds on disk: to prove that a refused or aborted upload left nothing. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Every file under the store path's data/ except the binlog folder (names relative to data/). */
export async function storedNames(base: string): Promise<string[]> {
  const data = join(base, 'storage', 'data');
  const all = (await readdir(data, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(data.length + 1));
  return all.filter((p) => !p.startsWith('sync/')).sort();
}

/** Temp files of uploads in progress. */
export function tempNames(base: string): Promise<string[]> {
  return readdir(join(base, 'storage', 'data', '.tmp'));
}
