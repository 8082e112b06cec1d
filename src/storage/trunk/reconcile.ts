/**
 * What the trunk server checks when it loads its free list: an upload into a slot it handed out
 * itself is answered once the trunk file and the binlog record are on disk, while its D record
 * (the slot taken for good) is written to the trunk binlog behind it. A crash in that gap leaves
 * the slot listed as free though a file the binlog names lives there. The binlog's last records
 * (well beyond that gap) name those files; each whose header is in place is taken off the list.
 */
import { forEachTailLine } from '../binlog-tail.js';
import { isTrunkName, locate, type TrunkLocation } from './slot.js';

/** How much of the binlog's end is read: seconds of uploads at any rate this storage reaches. */
const TAIL_BYTES = 8 * 1024 * 1024;

/** Trunk-packed files the binlog's last records create and do not delete. */
export async function recentTrunkFiles(
  dir: string,
  currentIndex: number,
): Promise<Map<string, TrunkLocation>> {
  const live = new Map<string, TrunkLocation>();
  await forEachTailLine(dir, currentIndex, TAIL_BYTES, (line) => {
    const [, op, name] = line.split(' ');
    if (name?.length !== 60 || (op !== 'C' && op !== 'c' && op !== 'D' && op !== 'd')) return;
    if (op === 'D' || op === 'd') {
      live.delete(name);
      return;
    }
    try {
      const loc = isTrunkName(name) ? locate(name) : undefined;
      if (loc) live.set(name, loc);
    } catch {
      // not a valid name: a torn line
    }
  });
  return live;
}
