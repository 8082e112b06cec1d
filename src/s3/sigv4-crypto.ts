import { createHmac, hash } from 'node:crypto';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** One-shot: a third of createHash().update().digest()'s cost on a canonical request. */
export function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}

export function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** A signing key's HMAC pads (RFC 2104: the 64-byte block, XOR 0x36 and XOR 0x5c). */
interface Pads {
  readonly inner: Buffer;
  readonly outer: Buffer;
}
const padsOf = new WeakMap<Buffer, Pads>();

function pads(key: Buffer): Pads {
  let p = padsOf.get(key);
  if (p === undefined) {
    const inner = Buffer.alloc(64, 0x36);
    const outer = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < key.length; i++) {
      inner[i] = (key[i] as number) ^ 0x36;
      outer[i] = (key[i] as number) ^ 0x5c;
    }
    p = { inner, outer };
    padsOf.set(key, p);
  }
  return p;
}

/**
 * Scratch for signatureHex, reused: it runs start to end in one synchronous call. A string to
 * sign is a few hundred bytes; a longer one gets a buffer of its own.
 */
const INNER = Buffer.allocUnsafe(64 + 1024);
const OUTER = Buffer.allocUnsafe(64 + 32);

/**
 * HMAC-SHA256 of an ASCII `data` under a 32-byte derived signing key, as hex: the same bytes as
 * hmac(), from two one-shot hashes over pads made once per key. createHmac builds a key object and
 * a stream each time, which cost a third of checking a presigned GET's signature. The inner hash
 * comes back as hex and is written into the outer block: a digest as a Buffer is a native
 * allocation the garbage collector has to track, on every request.
 */
export function signatureHex(key: Buffer, data: string): string {
  if (key.length !== 32) return hmac(key, data).toString('hex');
  const p = pads(key);
  const len = 64 + Buffer.byteLength(data, 'utf8');
  const msg = len <= INNER.length ? INNER : Buffer.allocUnsafe(len);
  p.inner.copy(msg, 0);
  msg.write(data, 64, 'utf8');
  p.outer.copy(OUTER, 0);
  OUTER.write(hash('sha256', msg.subarray(0, len), 'hex'), 64, 'hex');
  return hash('sha256', OUTER, 'hex');
}

/**
 * Compares two signatures without leaking where they differ (their lengths are public), one
 * UTF-16 unit at a time: no buffers made for a comparison done on every request.
 */
export function sameSignature(expected: string, given: string): boolean {
  if (expected.length !== given.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}

/**
 * Derived signing keys live one day per (secret, date, region); each costs four HMACs, and every
 * request of a client within that day reuses it. Bounded: a flood of odd regions only evicts.
 */
const keyCache = new Map<string, Buffer>();
const KEY_CACHE_MAX = 1024;

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\n${region}\n${service}\n${secret}`;
  const hit = keyCache.get(id);
  if (hit) return hit;
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  const key = hmac(kService, 'aws4_request');
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
  keyCache.set(id, key);
  return key;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const ALL_UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
/** What encodeURIComponent leaves alone besides the unreserved set. */
const SUB_DELIMS = /[!'()*]/g;

/** RFC 3986 encoding as SigV4 wants it: every byte but the unreserved set as %XX, upper-case hex. */
export function uriEncode(text: string): string {
  if (ALL_UNRESERVED.test(text)) return text;
  try {
    // encodeURIComponent writes upper-case hex already; only !'()* are left to escape.
    return encodeURIComponent(text).replace(
      SUB_DELIMS,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  } catch {
    // A lone surrogate (URIError): encoded below as UTF-8's replacement character.
    return uriEncodeEach(text);
  }
}

function uriEncodeEach(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch.length === 1 && UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** decodeURIComponent that answers undefined for malformed escapes instead of throwing. */
export function tryDecode(text: string): string | undefined {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
