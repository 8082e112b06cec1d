/**
 * What the trunk server checks when it loads its free list: an upload into a slot it handed out
 * itself is answered once the trunk file and the binlog record are on disk, while its D record
 * (the slot taken for good) is written to the trunk binlog behind it. A crash in that gap leaves
 * the slot listed as free though a file the binlog names lives there. The binlog's last records
 * (well beyond that gap) name those files; each whose header is in place is taken off the list.
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Binlog } from '../binlog.js';
import { isTrunkName, locate, type TrunkLocation } from './slot.js';

/** How much of the binlog's end is read: seconds of uploads at any rate this storage reaches. */
const TAIL_BYTES = 8 * 1024 * 1024;

/** Trunk-packed files the binlog's last records create and do not delete. */
export async function recentTrunkFiles(
  dir: string,
  currentIndex: number,
): Promise<Map<string, TrunkLocation>> {
  const parts: { path: string; from: number; size: number }[] = [];
  let left = TAIL_BYTES;
  for (let i = currentIndex; i >= 0 && left > 0; i--) {
    const path = join(dir, Binlog.fileName(i));
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    const take = Math.min(size, left);
    parts.unshift({ path, from: size - take, size });
    left -= take;
  }
  const live = new Map<string, TrunkLocation>();
  for (const p of parts) {
    if (p.size === p.from) continue;
    const fh = await open(p.path, 'r');
    let text: string;
    try {
      const buf = Buffer.allocUnsafe(p.size - p.from);
      const { bytesRead } = await fh.read(buf, 0, buf.length, p.from);
      text = buf.toString('latin1', 0, bytesRead);
    } finally {
      await fh.close();
    }
    const lines = text.split('\n');
    if (p.from > 0) lines.shift(); // starting mid-file, the first line is a fragment
    for (const line of lines) {
      const [, op, name] = line.split(' ');
      if (name?.length !== 60 || (op !== 'C' && op !== 'c' && op !== 'D' && op !== 'd')) continue;
      if (op === 'D' || op === 'd') {
        live.delete(name);
        continue;
      }
      try {
        const loc = isTrunkName(name) ? locate(name) : undefined;
        if (loc) live.set(name, loc);
      } catch {
        // not a valid name: a torn line
      }
    }
  }
  return live;
}
