/**
 * What a storage does to a slot's bytes inside a trunk file: read its header to see whether a
 * file lives there, and zero it when the file is deleted.
 */
import { closeFd, datasyncFd, openFd, preadFd, pwritevFd } from '../fd-io.js';
import { headerMatches, TRUNK_HEADER_SIZE, type TrunkLocation, type TrunkSlot } from './slot.js';

const ZEROS = Buffer.alloc(256 * 1024);

/** The slot's header bytes; undefined when the trunk file is missing or ends before them. */
async function readHeader(path: string, slot: TrunkSlot): Promise<Buffer | undefined> {
  const fd = await openFd(path, 'r').catch(() => undefined);
  if (fd === undefined) return undefined;
  try {
    const head = Buffer.alloc(TRUNK_HEADER_SIZE);
    const n = await preadFd(fd, head, 0, TRUNK_HEADER_SIZE, slot.offset);
    return n === TRUNK_HEADER_SIZE ? head : undefined;
  } finally {
    await closeFd(fd);
  }
}

/** Whether the slot holds the file its name says (its header is in place). */
export async function slotHolds(path: string, loc: TrunkLocation): Promise<boolean> {
  const head = await readHeader(path, loc.slot);
  return head !== undefined && headerMatches(head, loc.header);
}

/** Whether the slot's first bytes are a header (some file lives there). */
export async function slotOccupied(path: string, slot: TrunkSlot): Promise<boolean> {
  const head = await readHeader(path, slot);
  return head?.some((b) => b !== 0) === true;
}

/** Writes zeros over a whole slot (FastDFS' trunk_file_delete), synced when `durable`. */
export async function zeroSlot(path: string, slot: TrunkSlot, durable: boolean): Promise<void> {
  const fd = await openFd(path, 'r+');
  try {
    for (let at = 0; at < slot.size; at += ZEROS.length) {
      await pwritevFd(fd, [ZEROS.subarray(0, Math.min(ZEROS.length, slot.size - at))], slot.offset + at);
    }
    if (durable) await datasyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}
