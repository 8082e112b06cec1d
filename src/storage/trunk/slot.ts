/**
 * Where a small file lives when FastDFS packs it into a trunk file, and the 24-byte header in
 * front of its bytes (trunk_shared.h): a slot is `size` bytes at `offset` of
 * `<store_pathN>/data/HH/LL/<id, 6 digits>`; the file's content starts 24 bytes in.
 */
import { join } from 'node:path';
import { type DecodedName, decodeRemoteFilename, TRUNK_NAME_LEN } from '../../fileid/index.js';
import type { TrunkSlotFields } from '../../protocol/index.js';

/** The same fields the trunk commands carry. */
export type TrunkSlot = TrunkSlotFields;

/** FDFS_TRUNK_FILE_HEADER_SIZE: type 1, alloc size 4, file size 4, crc32 4, mtime 4, ext 7. */
export const TRUNK_HEADER_SIZE = 24;
export const FILE_TYPE_REGULAR = 0x46; // 'F'
export const FILE_TYPE_LINK = 0x4c; // 'L'
const EXT_LEN = 7;

export interface TrunkHeader {
  readonly fileType: number;
  readonly allocSize: number;
  readonly fileSize: number;
  readonly crc32: number;
  /** Unix seconds; the upload's start time, which the name carries too. */
  readonly mtime: number;
  /** The name's 7-char formatted extension (`123.jpg`, `.tar.gz`, 7 digits). */
  readonly formattedExt: string;
}

export function packHeader(h: TrunkHeader, into: Buffer = Buffer.alloc(TRUNK_HEADER_SIZE), at = 0): Buffer {
  into[at] = h.fileType;
  into.writeInt32BE(h.allocSize | 0, at + 1);
  into.writeInt32BE(h.fileSize | 0, at + 5);
  into.writeUInt32BE(h.crc32 >>> 0, at + 9);
  into.writeUInt32BE(h.mtime >>> 0, at + 13);
  into.fill(0, at + 17, at + TRUNK_HEADER_SIZE);
  into.write(h.formattedExt.slice(0, EXT_LEN), at + 17, 'latin1');
  return into;
}

export function unpackHeader(buf: Buffer, at = 0): TrunkHeader {
  const ext = buf.subarray(at + 17, at + TRUNK_HEADER_SIZE);
  const nul = ext.indexOf(0);
  return {
    fileType: buf[at] ?? 0,
    allocSize: buf.readInt32BE(at + 1),
    fileSize: buf.readInt32BE(at + 5),
    crc32: buf.readUInt32BE(at + 9),
    mtime: buf.readUInt32BE(at + 13),
    formattedExt: (nul < 0 ? ext : ext.subarray(0, nul)).toString('latin1'),
  };
}

/** A trunk name's slot and the header its bytes must sit behind. */
export interface TrunkLocation {
  readonly slot: TrunkSlot;
  readonly header: TrunkHeader;
}

/** FastDFS reads a name as a trunk file only at exactly 60 chars with the trunk bit set. */
export function isTrunkName(remote: string): boolean {
  return remote.length === TRUNK_NAME_LEN && decodeRemoteFilename(remote).type === 'trunk';
}

/** The slot a validated trunk name points at, or undefined for any other name. */
export function locate(
  remote: string,
  decoded: DecodedName = decodeRemoteFilename(remote),
): TrunkLocation | undefined {
  const t = decoded.trunk;
  if (decoded.type !== 'trunk' || t === undefined) return undefined;
  return {
    slot: {
      storePathIndex: decoded.storePathIndex,
      subdirHigh: decoded.subdirHigh,
      subdirLow: decoded.subdirLow,
      id: t.trunkFileId,
      offset: t.offset,
      size: t.allocSize,
    },
    header: {
      fileType: FILE_TYPE_REGULAR,
      allocSize: t.allocSize,
      fileSize: decoded.size,
      crc32: decoded.crc32,
      mtime: decoded.timestamp,
      formattedExt: decoded.fileName.slice(-EXT_LEN),
    },
  };
}

/**
 * Whether the 24 bytes on disk are the header the name expects (FastDFS compares the packed
 * bytes; the type may be F or L). Anything else, zeros after a delete included, is "no file".
 */
export function headerMatches(onDisk: Buffer, expected: TrunkHeader, at = 0): boolean {
  const type = onDisk[at];
  if (type !== FILE_TYPE_REGULAR && type !== FILE_TYPE_LINK) return false;
  const want = packHeader({ ...expected, fileType: type });
  return onDisk.compare(want, 0, TRUNK_HEADER_SIZE, at, at + TRUNK_HEADER_SIZE) === 0;
}

/** The trunk file's name: its id in decimal, zero-padded to 6 digits (fc_ltostr_ex). */
export function trunkFileName(id: number): string {
  return String(id >>> 0).padStart(6, '0');
}

/** `<store root>/data/HH/LL/000001`. */
export function trunkFilePath(
  storeRoot: string,
  slot: Pick<TrunkSlot, 'subdirHigh' | 'subdirLow' | 'id'>,
): string {
  return join(storeRoot, 'data', hex2(slot.subdirHigh), hex2(slot.subdirLow), trunkFileName(slot.id));
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

/** One line's worth of slot, for logs and errors. */
export function describeSlot(s: TrunkSlot): string {
  return `M${hex2(s.storePathIndex)}/${hex2(s.subdirHigh)}/${hex2(s.subdirLow)}/${trunkFileName(s.id)}@${s.offset}+${s.size}`;
}

export function sameSlot(a: TrunkSlot, b: TrunkSlot): boolean {
  return (
    a.storePathIndex === b.storePathIndex &&
    a.subdirHigh === b.subdirHigh &&
    a.subdirLow === b.subdirLow &&
    a.id === b.id &&
    a.offset === b.offset &&
    a.size === b.size
  );
}
