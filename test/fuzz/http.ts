/**
 * Gateway cases over raw TCP (so malformed requests reach the server as written): paths,
 * ranges, conditional and odd headers, multipart and raw uploads, framing (Content-Length,
 * chunked), then byte-level mutations of the whole request. Writes only ever name the victim.
 */
import { connect } from 'node:net';
import type { Rng } from '../harness/rng.js';
import type { Addr } from '../harness/wire.js';

export interface HttpContext {
  /** group/remote of a file that must stay intact (read only). */
  readonly canary: string;
  /** group/remote the fuzzer may delete. */
  readonly victim: string;
}

export interface HttpResult {
  readonly hung: boolean;
  readonly status: number | undefined;
  readonly how: string;
  /** The request as sent, to replay a finding. */
  readonly raw: Buffer;
}

const RANGES = [
  'bytes=0-0',
  'bytes=0-9',
  'bytes=-5',
  'bytes=5-',
  'bytes=0-1,3-4,6-7',
  'bytes=0-1,0-1,0-1,0-1,0-1,0-1,0-1',
  'items=0-10',
  'bytes=999999999999999999999-',
  'bytes=0-99999999999999999999999',
  'bytes=-0',
  'bytes=5-1',
  'bytes=',
  'bytes=a-b',
  'bytes=0-0,-1',
  'bytes = 0-1',
  `bytes=${'0-0,'.repeat(500)}0-0`,
];
const DATES = ['Thu, 01 Jan 1970 00:00:00 GMT', 'garbage', 'Fri, 31 Dec 9999 23:59:59 GMT', ''];

function filePaths(rng: Rng, ctx: HttpContext): string {
  const [group, ...rest] = ctx.canary.split('/');
  const remote = rest.join('/');
  return rng.pick([
    `/${ctx.canary}`,
    `/${remote}`,
    `/${ctx.canary}?filename=${encodeURIComponent('报告 "x".png')}`,
    `/${ctx.canary}?attname=../../a&download=1`,
    `/${ctx.canary}?token=abc&ts=0`,
    `/${ctx.canary}?sig=eyJhbGciOiJub25lIn0.e30.`,
    `/${group}/M00/00/00/../../../../etc/passwd`,
    `/${group}/M00/%2e%2e/%2e%2e/etc/passwd`,
    `/${group}/M99/00/00/${remote.slice(10)}`,
    `/${group}//M00/00/00/x`,
    `/${'a'.repeat(rng.pick([200, 5000, 70000]))}`,
    `/${ctx.canary}%00.png`,
    `/${ctx.canary.toLowerCase()}`,
    '/healthz',
    '/metrics',
    '/',
    '/index.html',
    '/app.js',
    '/api/config',
    '/api/cluster',
    '/api/sign',
    '/favicon.ico',
    '/%',
    '/%zz',
    '/..%2f..%2f',
    '*',
  ]);
}

function multipart(rng: Rng): { type: string; body: Buffer } {
  const boundary = rng.pick(['XyZ', 'a'.repeat(70), '--', '"q"', '']);
  const parts: string[] = [];
  for (let i = rng.int(0, 4); i > 0; i--) {
    if (rng.chance(0.4))
      parts.push(
        `--${boundary}\r\nContent-Disposition: form-data; name="${rng.pick(['group', 'meta.a', 'meta.', 'x'])}"\r\n\r\n${rng.pick(['group1', 'v', 'nogroup', ''])}\r\n`,
      );
    else
      parts.push(
        `--${boundary}\r\nContent-Disposition: form-data; name="${rng.pick(['file', 'files', ''])}"; filename="${rng.pick(['a.png', '../../x.txt', '', 'a'.repeat(300), '报告.jpg'])}"\r\nContent-Type: ${rng.pick(['image/png', 'text/html', ''])}\r\n\r\n${'z'.repeat(rng.pick([0, 10, 3000]))}\r\n`,
      );
  }
  if (rng.chance(0.8)) parts.push(`--${boundary}--\r\n`);
  return { type: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(parts.join('')) };
}

function request(rng: Rng, ctx: HttpContext): Buffer {
  const headers: string[] = [];
  let method = 'GET';
  let path: string;
  let body: Buffer = Buffer.alloc(0);
  const kind = rng.int(0, 9);
  if (kind <= 4) {
    method = rng.pick(['GET', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'BREW', 'get']);
    path = filePaths(rng, ctx);
    if (rng.chance(0.5)) headers.push(`Range: ${rng.pick(RANGES)}`);
    if (rng.chance(0.2)) headers.push(`If-None-Match: ${rng.pick(['*', '"x"', 'W/"y"', '""'])}`);
    if (rng.chance(0.2)) headers.push(`If-Modified-Since: ${rng.pick(DATES)}`);
    if (rng.chance(0.1)) headers.push(`If-Range: ${rng.pick(['"x"', DATES[0] ?? ''])}`);
  } else if (kind <= 6) {
    method = 'POST';
    path = rng.pick(['/upload', '/upload?group=group1', '/upload?group=../x', '/api/sign']);
    const m = multipart(rng);
    headers.push(
      `Content-Type: ${rng.chance(0.9) ? m.type : rng.pick(['text/plain', 'multipart/form-data'])}`,
    );
    body =
      path === '/api/sign'
        ? Buffer.from(rng.pick(['{"fileId":"x","ttl":600}', '{', '[]', '{"ttl":-1}']))
        : m.body;
  } else if (kind === 7) {
    method = 'PUT';
    path = rng.pick([
      '/upload/a.txt',
      '/upload/',
      '/upload/../../x',
      `/upload/${'n'.repeat(300)}.bin`,
      '/upload/a.txt?group=nope',
    ]);
    body = rng.bytes(rng.pick([0, 10, 2000]));
    if (rng.chance(0.3))
      headers.push(
        `X-Fdfs-Meta-${rng.pick(['a', '', '%ff', 'x'.repeat(100)])}: ${rng.pick(['v', '%zz', 'x'.repeat(300)])}`,
      );
  } else if (kind === 8) {
    method = 'DELETE';
    path = rng.pick([`/${ctx.victim}`, '/group1/M00/00/00/nothere.bin', '/upload', '/']);
  } else {
    method = rng.pick(['GET', 'POST']);
    path = rng.pick(['/healthz', '/api/cluster', '/upload']);
    headers.push(
      rng.pick([
        'Transfer-Encoding: chunked',
        'Transfer-Encoding: gzip, chunked',
        'Content-Length: -1',
        'Content-Length: 5',
        'Content-Length: 1, 2',
        'Expect: 100-continue',
      ]),
    );
    body = Buffer.from(rng.pick(['5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', 'ffffffffffffffff\r\nx', '']));
  }
  const version = rng.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x']);
  const host = rng.chance(0.9) ? ['Host: 127.0.0.1'] : [];
  if (rng.chance(0.1))
    headers.push(`Authorization: ${rng.pick(['Bearer ', 'Bearer x.y.z', 'Basic Og==', 'x'.repeat(9000)])}`);
  if (rng.chance(0.05)) headers.push(`X-Big: ${'h'.repeat(rng.pick([100, 20000, 70000]))}`);
  if (body.length > 0 && !headers.some((h) => /^(Content-Length|Transfer-Encoding)/.test(h)))
    headers.push(`Content-Length: ${rng.chance(0.9) ? body.length : rng.int(0, body.length * 2)}`);
  const head = `${method} ${path} ${version}\r\n${[...host, ...headers, 'Connection: close'].join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export function runHttpCase(
  rng: Rng,
  addr: Addr,
  ctx: HttpContext,
  rate: number,
  hangMs: number,
): Promise<HttpResult> {
  let req: Buffer = request(rng, ctx);
  let how = req.toString('latin1', 0, Math.min(120, req.indexOf('\r\n') > 0 ? req.indexOf('\r\n') : 120));
  if (rng.chance(rate)) {
    req = Buffer.from(req);
    const k = rng.int(0, 2);
    if (k === 0) {
      const flips = rng.int(1, 6);
      for (let i = 0; i < flips; i++) req[rng.int(0, req.length - 1)] = rng.int(0, 255);
      how += ` flip${flips}`;
    } else if (k === 1) {
      const cut = rng.int(0, req.length);
      req = req.subarray(0, cut);
      how += ` trunc=${cut}`;
    } else {
      req = Buffer.concat([req, req]);
      how += ' twice';
    }
  }
  return new Promise((resolve) => {
    const s = connect(addr);
    let first = '';
    let done = false;
    const finish = (hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(first);
      resolve({ hung, status: m ? Number(m[1]) : undefined, how, raw: req });
    };
    const timer = setTimeout(() => finish(true), hangMs);
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
    s.on('data', (c: Buffer) => {
      if (first.length < 16) first += c.toString('latin1', 0, 16);
    });
    s.on('connect', () => {
      s.write(req);
      s.end();
    });
  });
}
