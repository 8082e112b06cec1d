/** Checks a run script makes on a node's disk: files match their ids, no temp files stay. */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeRemoteFilename } from '../../src/fileid/index.js';
import {
  headerMatches,
  locate,
  TRUNK_HEADER_SIZE,
  type TrunkLocation,
  trunkFilePath,
} from '../../src/storage/trunk/index.js';

/**
 * For a normal file id: the size and CRC32 its name carries match its content on disk. For a
 * trunk-packed one: its slot's header is the one the name describes, and the bytes after it match.
 */
export async function matchesId(storeRoot: string, fileId: string): Promise<string | undefined> {
  const remote = fileId.slice(fileId.indexOf('/') + 1);
  const d = decodeRemoteFilename(remote);
  const loc = locate(remote);
  if (loc) return slotMatches(storeRoot, fileId, loc, d.size, d.crc32);
  const path = join(storeRoot, 'data', remote.slice(4, 6), remote.slice(7, 9), d.fileName);
  const content = await readFile(path).catch(() => undefined);
  if (!content) return `${fileId}: missing on disk`;
  if (d.type !== 'normal') return undefined;
  if (content.length !== d.size) return `${fileId}: ${content.length} bytes, the id says ${d.size}`;
  if (crc32(content) >>> 0 !== d.crc32 >>> 0) return `${fileId}: crc32 differs from the id's`;
  return undefined;
}

async function slotMatches(
  storeRoot: string,
  fileId: string,
  loc: TrunkLocation,
  size: number,
  crc: number,
): Promise<string | undefined> {
  const fh = await open(trunkFilePath(storeRoot, loc.slot), 'r').catch(() => undefined);
  if (!fh) return `${fileId}: its trunk file is missing`;
  try {
    const buf = Buffer.alloc(TRUNK_HEADER_SIZE + size);
    const { bytesRead } = await fh.read(buf, 0, buf.length, loc.slot.offset);
    if (bytesRead < buf.length || !headerMatches(buf, loc.header, 0))
      return `${fileId}: no header in its slot`;
    if (crc32(buf.subarray(TRUNK_HEADER_SIZE)) >>> 0 !== crc >>> 0)
      return `${fileId}: crc32 differs from the id's`;
    return undefined;
  } finally {
    await fh.close();
  }
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
 * store path; a file that goes while being read (a sync still applying) is left out. Trunk files
 * (six digits) are not compared whole: slots no upload was answered for may differ between
 * replicas; matchesId checks each packed file in them.
 */
export async function replicaFiles(storeRoot: string): Promise<Map<string, string>> {
  const { createHash } = await import('node:crypto');
  const out = new Map<string, string>();
  const data = join(storeRoot, 'data');
  for (const hi of await readdir(data).catch(() => [] as string[])) {
    if (!/^[0-9A-F]{2}$/.test(hi)) continue;
    for (const lo of await readdir(join(data, hi)).catch(() => [] as string[])) {
      for (const name of await readdir(join(data, hi, lo)).catch(() => [] as string[])) {
        if (/^\d{6}$/.test(name)) continue;
        const content = await readFile(join(data, hi, lo, name)).catch(() => undefined);
        if (content) out.set(`M00/${hi}/${lo}/${name}`, createHash('sha1').update(content).digest('hex'));
      }
    }
  }
  return out;
}
