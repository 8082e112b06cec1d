/**
 * readRequestHead: the narrow reader of the raw file connections. It must take plain GET/HEAD
 * heads and refuse ('other') everything node:http should decide, so that no request is answered
 * from a guess about where it ends.
 */
import { describe, expect, it } from 'vitest';
import { MAX_HEAD, readRequestHead } from '../src/gateway/request-head.js';

const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

describe('readRequestHead', () => {
  it('reads plain GET and HEAD heads, their headers and where each ends', () => {
    const a = head(['GET /group1/M00/00/00/x.jpg?token=1 HTTP/1.1', 'Host: h:1', 'Accept:  image/*  ']);
    const b = head(['HEAD /y HTTP/1.1', 'host: h', 'Connection: Keep-Alive']);
    const both = Buffer.concat([a, b]);
    const r1 = readRequestHead(both, 0);
    expect(r1).toMatchObject({ method: 'GET', target: '/group1/M00/00/00/x.jpg?token=1', end: a.length });
    if (typeof r1 === 'string') throw new Error('unreachable');
    expect(Object.fromEntries(r1.headers)).toEqual({ host: 'h:1', accept: 'image/*' });
    expect(readRequestHead(both, a.length)).toMatchObject({ method: 'HEAD', target: '/y', end: both.length });
  });

  it('says partial for a head not yet complete, other past the size limit', () => {
    const whole = head(['GET /x HTTP/1.1', 'Host: h']);
    expect(readRequestHead(whole.subarray(0, whole.length - 1), 0)).toBe('partial');
    expect(readRequestHead(Buffer.from('GET /x HTTP/1.1\r\nHost: h\r\n'), 0)).toBe('partial');
    // Bare LFs: never waited for (the head may never end in CRLF CRLF).
    expect(readRequestHead(Buffer.from('GET /x HTTP/1.1\nHost: h\n\n'), 0)).toBe('other');
    expect(readRequestHead(Buffer.from('GET /x HTTP/1.1\r\nHost: h\n'), 0)).toBe('other');
    const first = 'GET /a HTTP/1.1\r\nHost: h\r\n\r\n';
    expect(readRequestHead(Buffer.from(`${first}\nGET /x HTTP/1.1\r\n`), first.length)).toBe('other');
    const big = Buffer.from(`GET /x HTTP/1.1\r\nHost: h\r\nX: ${'a'.repeat(MAX_HEAD)}`);
    expect(readRequestHead(big, 0)).toBe('other');
    expect(readRequestHead(head(['GET /x HTTP/1.1', 'Host: h', `X: ${'a'.repeat(MAX_HEAD)}`]), 0)).toBe(
      'other',
    );
  });

  it.each([
    ['another method', ['POST /x HTTP/1.1', 'Host: h']],
    ['a lower-case method', ['get /x HTTP/1.1', 'Host: h']],
    ['HTTP/1.0', ['GET /x HTTP/1.0', 'Host: h']],
    ['an absolute target', ['GET http://h/x HTTP/1.1', 'Host: h']],
    ['a space in the target', ['GET /x y HTTP/1.1', 'Host: h']],
    ['no Host', ['GET /x HTTP/1.1', 'Accept: */*']],
    ['a repeated header', ['GET /x HTTP/1.1', 'Host: h', 'Host: i']],
    [
      'a repeated header in other case',
      ['GET /x HTTP/1.1', 'Host: h', 'Range: bytes=0-1', 'range: bytes=2-3'],
    ],
    ['a body length', ['GET /x HTTP/1.1', 'Host: h', 'Content-Length: 0']],
    ['a chunked body', ['GET /x HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked']],
    ['Expect', ['GET /x HTTP/1.1', 'Host: h', 'Expect: 100-continue']],
    ['Upgrade', ['GET /x HTTP/1.1', 'Host: h', 'Connection: Upgrade', 'Upgrade: websocket']],
    ['Connection: close', ['GET /x HTTP/1.1', 'Host: h', 'Connection: close']],
    ['a Connection list', ['GET /x HTTP/1.1', 'Host: h', 'Connection: keep-alive, te']],
    ['a folded header', ['GET /x HTTP/1.1', 'Host: h', 'X-A: b', ' c']],
    ['a space before the colon', ['GET /x HTTP/1.1', 'Host : h']],
    ['a bare LF inside the head', ['GET /x HTTP/1.1', 'Host: h\nX: y']],
    ['a control byte in a value', ['GET /x HTTP/1.1', 'Host: h', 'X: a\u0001b']],
    ['a byte past ASCII in a value', ['GET /x HTTP/1.1', 'Host: h', 'X: caf\u00e9']],
    ['an empty header name', ['GET /x HTTP/1.1', 'Host: h', ': v']],
  ])('hands %s to node:http', (_, lines) => {
    expect(readRequestHead(head(lines), 0)).toBe('other');
  });
});
