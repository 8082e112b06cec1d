import { Buffer } from 'node:buffer';
import { invalid, quote } from './validate.js';

/** Length of the encoded 20-byte block (FDFS_FILENAME_BASE64_LENGTH). */
export const BASE64_PART_LEN = 27;
/** Length of the encoded 12-byte trunk location in a 60-char trunk name. */
export const TRUNK_PART_LEN = 16;

// FastDFS's alphabet is A-Z a-z 0-9 '-' '_', i.e. exactly base64url; names carry no padding.
const PART_RE = /^[A-Za-z0-9_-]+$/;

function encode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function decode(text: string, expectedChars: number, expectedBytes: number): Uint8Array {
  if (typeof text !== 'string' || text.length !== expectedChars || !PART_RE.test(text)) {
    invalid(`invalid base64 part ${quote(text)}: need ${expectedChars} chars of [A-Za-z0-9_-]`);
  }
  // Node ignores the unused low bits of the last char, as FastDFS's pad-and-drop decoder does.
  // Copied into its own buffer (Buffer.from may slice a shared pool), with one memcpy:
  // Uint8Array.from iterates element by element.
  const out = new Uint8Array(Buffer.from(text, 'base64url'));
  if (out.length !== expectedBytes) invalid(`invalid base64 part ${quote(text)}`);
  return out;
}

/** 20 bytes → the 27-char part of a file name. */
export function encodeBase64Part(bytes20: Uint8Array): string {
  if (bytes20.length !== 20) invalid(`base64 part needs 20 bytes, got ${bytes20.length}`);
  return encode(bytes20);
}

/** The 27-char part of a file name → its 20 bytes. */
export function decodeBase64Part(s27: string): Uint8Array {
  return decode(s27, BASE64_PART_LEN, 20);
}

export function encodeTrunkPart(bytes12: Uint8Array): string {
  if (bytes12.length !== 12) invalid(`trunk part needs 12 bytes, got ${bytes12.length}`);
  return encode(bytes12);
}

export function decodeTrunkPart(s16: string): Uint8Array {
  return decode(s16, TRUNK_PART_LEN, 12);
}
