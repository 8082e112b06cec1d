/**
 * The head of an HTTP/1.1 GET or HEAD, read straight from a connection's bytes for the raw file
 * connections (raw-conn.ts). Deliberately narrow: whatever it is not sure of — another method or
 * version, a body, a folded, repeated or non-ASCII header, a bare LF — is 'other', and the
 * connection goes to node:http, whose parser is the strict one. A head not yet complete is
 * 'partial': the connection waits for a few more reads, then goes to node:http too. Nothing is
 * ever answered from a guess.
 */

export interface RequestHead {
  readonly method: 'GET' | 'HEAD';
  /** The request target as sent: path and query. */
  readonly target: string;
  /** Header values by lower-case name, each name at most once, trimmed. */
  readonly headers: ReadonlyMap<string, string>;
  /** Offset just past the blank line that ends the head. */
  readonly end: number;
}

/** node:http's own header limit: a longer head is its to refuse. */
export const MAX_HEAD = 16 * 1024;

const END = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
// A token name, then a value of visible ASCII and spaces/tabs (no obs-text, no control bytes).
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\t\x20-\x7e]*)$/;
// Headers that change how the bytes after the head are framed, or ask for more than a reply.
const HANDED_ON = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade', 'http2-settings']);

export function readRequestHead(buf: Buffer, start: number): RequestHead | 'partial' | 'other' {
  const stop = buf.indexOf(END, start);
  if (stop < 0) {
    if (buf.length - start > MAX_HEAD) return 'other';
    // A head with a bare LF may never end in CRLF CRLF: node:http's to judge, not one to wait for.
    for (let i = buf.indexOf(10, start); i >= 0; i = buf.indexOf(10, i + 1)) {
      if (i === start || buf[i - 1] !== 13) return 'other';
    }
    return 'partial';
  }
  if (stop - start > MAX_HEAD) return 'other';
  const lines = buf.toString('latin1', start, stop).split('\r\n');
  const first = REQUEST_LINE.exec(lines[0] ?? '');
  if (first === null) return 'other';
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const m = HEADER_LINE.exec(lines[i] as string);
    if (m === null) return 'other';
    const name = (m[1] as string).toLowerCase();
    if (headers.has(name) || HANDED_ON.has(name)) return 'other';
    headers.set(name, (m[2] as string).trimEnd());
  }
  const connection = headers.get('connection');
  // Connection: close (and HTTP/1.0's rules) are node:http's to follow.
  if (connection !== undefined && connection.toLowerCase() !== 'keep-alive') return 'other';
  if (headers.get('host') === undefined) return 'other';
  return { method: first[1] as 'GET' | 'HEAD', target: first[2] as string, headers, end: stop + 4 };
}
