/** Checks a run script makes on a node's disk: files match their ids, no temp files stay. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeRemoteFilename } from '../../src/fileid/index.js';

/** For a normal file id: the size and CRC32 its name carries match its content on disk. */
export async function matchesId(storeRoot: string, fileId: string): Promise<string | undefined> {
  const remote = fileId.slice(fileId.indexOf('/') + 1);
  const d = decodeRemoteFilename(remote);
  const path = join(storeRoot, 'data', remote.slice(4, 6), remote.slice(7, 9), d.fileName);
  const content = await readFile(path).catch(() => undefined);
  if (!content) return `${fileId}: missing on disk`;
  if (d.type !== 'normal') return undefined;
  if (content.length !== d.size) return `${fileId}: ${content.length} bytes, the id says ${d.size}`;
  if (crc32(content) >>> 0 !== d.crc32 >>> 0) return `${fileId}: crc32 differs from the id's`;
  return undefined;
}

/** Every `*.tmp` file under `dir` (upload temps, state-file temps, sidecar temps). */
export async function tempFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.tmp')) out.push(p);
    }
  }
  await walk(dir);
  return out;
}

/** Bytes under `dir`. */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  async function walk(d: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        total += await stat(p).then(
          (s) => s.size,
          () => 0,
        );
    }
  }
  await walk(dir);
  return total;
}

/**
 * Every stored file (`M00/HH/LL/name`, sidecars included) → sha1 of its content, read from the
 * store path; a file that goes while being read (a sync still applying) is left out.
 */
export async function replicaFiles(storeRoot: string): Promise<Map<string, string>> {
  const { createHash } = await import('node:crypto');
  const out = new Map<string, string>();
  const data = join(storeRoot, 'data');
  for (const hi of await readdir(data).catch(() => [] as string[])) {
    if (!/^[0-9A-F]{2}$/.test(hi)) continue;
    for (const lo of await readdir(join(data, hi)).catch(() => [] as string[])) {
      for (const name of await readdir(join(data, hi, lo)).catch(() => [] as string[])) {
        const content = await readFile(join(data, hi, lo, name)).catch(() => undefined);
        if (content) out.set(`M00/${hi}/${lo}/${name}`, createHash('sha1').update(content).digest('hex'));
      }
    }
  }
  return out;
}
