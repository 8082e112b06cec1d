import { encodeBase64Part, encodeTrunkPart } from './base64.js';
import { decodeRemoteFilename } from './decode.js';
import type { EncodeNameInput, NameKind, RegenerateInput, SourceId, TrunkInfo } from './types.js';
import { invalid, isMetaSidecarName, quote } from './validate.js';

export const EXT_MAX_LEN = 6;
export const FORMATTED_EXT_LEN = EXT_MAX_LEN + 1;
export const MAX_SERVER_ID = 0xffffff;

const EXT_RE = /^[A-Za-z0-9_.-]*$/;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const FOUR_GIB_NUMBER = 0x1_0000_0000;
const MAX_INT64 = (1n << 63n) - 1n;
// High 32 bits of the size word: bit 63 says "low half is the size", 58/59 mark appender/trunk.
const HI_SIZE_FLAG = 0x8000_0000;
const HI_APPENDER = 0x0400_0000;
const HI_TRUNK = 0x0800_0000;
const RANDOM_BITS_MASK = 0x7f_ffff;

function checkUint(value: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    invalid(`${what} must be an integer 0..${max}, got ${value}`);
  return value;
}

function randomDigit(random: () => number): string {
  const d = Math.floor(random() * 10);
  return String.fromCharCode(48 + Math.min(9, Math.max(0, Number.isFinite(d) ? d : 0)));
}

export function validateExt(ext: string): void {
  if (typeof ext !== 'string' || ext.length > EXT_MAX_LEN || !EXT_RE.test(ext)) {
    invalid(`invalid file extension ${quote(ext)}: need ≤ 6 chars of [A-Za-z0-9_.-]`);
  }
  // A name ending in '-m' would collide with the metadata sidecar convention.
  if (isMetaSidecarName(ext)) invalid(`invalid file extension ${quote(ext)}: must not end with '-m'`);
}

/** The 7-char ext suffix: random digits, then '.' + ext (or 7 digits when there is no ext). */
export function formatExt(ext: string, random: () => number = Math.random): string {
  validateExt(ext);
  const digits = ext === '' ? FORMATTED_EXT_LEN : EXT_MAX_LEN - ext.length;
  let out = '';
  for (let i = 0; i < digits; i++) out += randomDigit(random);
  return ext === '' ? out : `${out}.${ext}`;
}

/**
 * A storage names every upload with the same address: its four bytes are parsed once and kept
 * (one entry; a profile of name encoding put a fifth of it in the address's regex and array).
 */
let lastIp = '';
let lastOctets: readonly number[] = [];

function ipOctets(ip: string): readonly number[] {
  if (ip === lastIp && ip !== '') return lastOctets;
  const m = IPV4_RE.exec(ip);
  const octets = m === null ? [] : m.slice(1).map(Number);
  if (octets.length !== 4 || octets.some((o) => o > 255)) invalid(`invalid source IPv4 address ${quote(ip)}`);
  lastIp = ip;
  lastOctets = octets;
  return octets;
}

function writeSource(view: DataView, source: SourceId): void {
  if (source.kind === 'id') {
    checkUint(source.id, MAX_SERVER_ID, 'server id');
    if (source.id === 0) invalid('server id must be 1..16777215, got 0');
    // FastDFS writes numeric ids little-endian (a host-order int run through htonl twice).
    view.setUint32(0, source.id, true);
    return;
  }
  const octets = ipOctets(source.ip);
  for (let i = 0; i < 4; i++) view.setUint8(i, octets[i] ?? 0);
}

/** The size as given (number or bigint), checked to be an integer in 0..2^63-1. */
function checkSize(size: bigint | number): bigint | number {
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size)) invalid(`file size must be an integer, got ${size}`);
    if (size < 0) invalid(`file size out of range: ${size}`);
    return size;
  }
  if (size < 0n || size > MAX_INT64) invalid(`file size out of range: ${size}`);
  return size;
}

/** The size word's high and low 32 bits (unsigned). */
interface SizeWord {
  readonly high: number;
  readonly low: number;
}

function sizeWord(kind: NameKind, size: bigint | number, randomBits: number): SizeWord {
  const big = size >= FOUR_GIB_NUMBER;
  let high = HI_SIZE_FLAG | randomBits;
  let low = big ? 0 : Number(size);
  if (kind === 'appender') {
    high |= HI_APPENDER;
    low = 0;
  } else if (kind === 'trunk') {
    if (big) invalid(`trunk file size must be < 4 GiB, got ${size}`);
    high |= HI_TRUNK;
  } else if (big) {
    // Big files carry the raw size; bit 63 stays clear.
    const b = BigInt(size);
    return { high: Number(b >> 32n), low: Number(b & 0xffff_ffffn) };
  }
  return { high: high >>> 0, low };
}

function pickRandomBits(randomBits: number | undefined, random: () => number): number {
  if (randomBits !== undefined) return checkUint(randomBits, RANDOM_BITS_MASK, 'randomBits');
  return Math.floor(random() * (RANDOM_BITS_MASK + 1)) & RANDOM_BITS_MASK;
}

interface Fields {
  source: SourceId;
  timestamp: number;
  sizeWord: SizeWord;
  crc32: number;
}

/** The 20 bytes of §5.2: source id, timestamp, size word and CRC, big-endian except a numeric id. */
function encodeNameBytes(fields: Fields): Uint8Array {
  const bytes = new Uint8Array(20);
  const view = new DataView(bytes.buffer);
  writeSource(view, fields.source);
  view.setUint32(4, checkUint(fields.timestamp, 0xffffffff, 'timestamp'), false);
  view.setUint32(8, fields.sizeWord.high, false);
  view.setUint32(12, fields.sizeWord.low, false);
  view.setUint32(16, checkUint(fields.crc32, 0xffffffff, 'crc32'), false);
  return bytes;
}

function trunkPart(trunk: TrunkInfo): string {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, checkUint(trunk.trunkFileId, 0x7fffffff, 'trunk file id'), false);
  view.setUint32(4, checkUint(trunk.offset, 0x7fffffff, 'trunk offset'), false);
  view.setUint32(8, checkUint(trunk.allocSize, 0x7fffffff, 'trunk alloc size'), false);
  return encodeTrunkPart(bytes);
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

function hex2(value: number, what: string): string {
  return HEX2[checkUint(value, 0xff, what)] as string;
}

/**
 * The name from its parts. It is valid by construction (two-digit hex, base64url, a checked ext
 * or digits), so it is not run through the name's validation again here: every name that
 * reaches a disk path is, where the path is made (StorePaths).
 */
function assemble(
  dirs: { storePathIndex: number; subdirHigh: number; subdirLow: number },
  base64: string,
  suffix: string,
): string {
  return (
    `M${hex2(dirs.storePathIndex, 'store path index')}/${hex2(dirs.subdirHigh, 'subdir high')}/` +
    `${hex2(dirs.subdirLow, 'subdir low')}/${base64}${suffix}`
  );
}

/** Builds a new remote filename such as `M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png`. */
export function encodeRemoteFilename(input: EncodeNameInput): string {
  const kind = input.kind ?? 'normal';
  const random = input.random ?? Math.random;
  if (input.trunk !== undefined && kind !== 'trunk') invalid(`trunk location given for a ${kind} file`);
  const randomBits = pickRandomBits(input.randomBits, random);
  const word = sizeWord(kind, checkSize(input.size), randomBits);
  const bytes = encodeNameBytes({
    source: input.source,
    timestamp: input.timestamp,
    sizeWord: word,
    crc32: input.crc32,
  });
  const trunk = input.trunk === undefined ? '' : trunkPart(input.trunk);
  return assemble(input, encodeBase64Part(bytes) + trunk, formatExt(input.ext, random));
}

/**
 * REGENERATE_APPENDER_FILENAME: the appender's dirs, source and 7-char ext suffix, with a new
 * timestamp and a normal size word carrying the real size and CRC.
 */
export function regenerateName(appenderRemote: string, input: RegenerateInput): string {
  const decoded = decodeRemoteFilename(appenderRemote);
  if (decoded.type !== 'appender' || decoded.fileName.length !== 27 + FORMATTED_EXT_LEN) {
    invalid(`${quote(appenderRemote)} is not an appender file name`, appenderRemote);
  }
  const randomBits = pickRandomBits(input.randomBits, input.random ?? Math.random);
  const word = sizeWord('normal', checkSize(input.size), randomBits);
  const bytes = encodeNameBytes({
    source: decoded.source,
    timestamp: input.timestamp,
    sizeWord: word,
    crc32: input.crc32,
  });
  return assemble(decoded, encodeBase64Part(bytes), decoded.fileName.slice(27));
}
