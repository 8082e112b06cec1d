import { createHmac, hash, timingSafeEqual } from 'node:crypto';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** One-shot: a third of createHash().update().digest()'s cost on a canonical request. */
export function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}

export function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Compares two hex signatures without leaking where they differ (lengths are public: always 64). */
export function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(given, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
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
