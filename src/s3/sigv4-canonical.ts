import { tryDecode, uriEncode } from './sigv4-crypto.js';

export interface QueryParam {
  readonly name: string; // decoded
  readonly value: string; // decoded
}

/**
 * Splits a raw query into decoded pairs, in order. '+' stays a plus (RFC 3986; the SDKs send a
 * space as %20); a malformed escape keeps its raw text, so the signature, not the parser, rejects
 * it. A parameter without '=' has the value ''. This is the one reading of a query in s3: the
 * signature is checked over it, so routes must use it as well.
 */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = [];
  if (rawQuery === '') return out;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    out.push({ name: tryDecode(rawName) ?? rawName, value: tryDecode(rawValue) ?? rawValue });
  }
  return out;
}

/** Canonical query: every pair re-encoded strictly, sorted by encoded name, then encoded value. */
export function canonicalQuery(params: readonly QueryParam[], skip?: string): string {
  const pairs: [string, string][] = [];
  for (const p of params) {
    if (p.name === skip) continue;
    pairs.push([uriEncode(p.name), uriEncode(p.value)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/**
 * S3's canonical URI is the path exactly as the client encoded it (never encoded twice, no dot
 * segments removed). This is the alternative: each decoded segment re-encoded strictly, for
 * clients that send characters such as '!' or '$' raw but sign them %-encoded; undefined when it
 * is the same as the raw path or a segment does not decode.
 */
export function strictPath(rawPath: string): string | undefined {
  const first = rawPath === '' ? '/' : rawPath;
  const segments: string[] = [];
  for (const s of first.split('/')) {
    const d = tryDecode(s);
    if (d === undefined) return undefined;
    segments.push(uriEncode(d));
  }
  const second = segments.join('/');
  return second === first ? undefined : second;
}

/** `name:value\n` for each signed header, values trimmed and inner whitespace runs collapsed. */
export function canonicalHeaders(
  signed: readonly string[],
  headers: Readonly<Record<string, string | undefined>>,
): string {
  let out = '';
  for (const name of signed) {
    const value = headers[name] ?? '';
    out += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
  }
  return out;
}

export function canonicalRequest(
  method: string,
  path: string,
  query: string,
  headerBlock: string,
  signedHeaders: readonly string[],
  payloadHash: string,
): string {
  return `${method}\n${path}\n${query}\n${headerBlock}\n${signedHeaders.join(';')}\n${payloadHash}`;
}
