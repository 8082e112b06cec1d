/**
 * Edge cases found by `npm run mutate` over the gateway's pure parts: Range parsing and
 * multipart framing, the FastDFS token's boundaries, response headers and validators, signed
 * links' limits, and the access guard (which credential is checked, the token_check_fail file).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, FdfsError, Status } from '../src/common/index.js';
import { httpConfigFrom, parseConfText } from '../src/config/index.js';
import type { HttpConfig } from '../src/config/types.js';
import { AccessGuard } from '../src/gateway/access.js';
import { createContext } from '../src/gateway/context.js';
import {
  asciiFileName,
  attachment,
  baseHeaders,
  etagOf,
  type HeaderFacts,
  ifRangeHolds,
  lastModifiedOf,
  noneMatch,
  notModifiedSince,
  typeOfExt,
} from '../src/gateway/file-headers.js';
import { checkToken, fastdfsToken, LinkSigner } from '../src/gateway/index.js';
import { byteRangesFrame, contentRange, parseRange } from '../src/gateway/range.js';

const PNG = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
const ID = `group1/${PNG}`;
const KEY = 'FastDFS1234567890';
const SECRET = 'a-link-secret-of-at-least-32-characters!';

function config(text: string): HttpConfig {
  return httpConfigFrom(
    parseConfText(`base_path = /tmp/x\ntracker_server = 127.0.0.1:22122\n${text}`, 'h.conf'),
  ).config;
}

function failure(fn: () => unknown): FdfsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FdfsError);
  return caught as FdfsError;
}

async function rejection(p: Promise<unknown>): Promise<FdfsError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FdfsError);
  return caught as FdfsError;
}

const partial = (...pairs: [number, number][]) => ({
  kind: 'partial',
  ranges: pairs.map(([start, end]) => ({ start, end })),
});
const refused = (why: string) => ({ kind: 'unsatisfiable', why });

describe('parseRange edges', () => {
  it.each<[string, number, boolean, object]>([
    ['BYTES=0-1', 100, true, partial([0, 1])],
    [' bytes =2-3', 100, true, partial([2, 3])],
    ['x-unit.v2=0-1', 100, true, { kind: 'full' }],
    ['bytes= 4-5 ', 100, true, partial([4, 5])],
    ['bytes=5-5', 100, true, partial([5, 5])],
    ['bytes=99-99', 100, true, partial([99, 99])],
    ['bytes=0-', 1, true, partial([0, 0])],
    ['bytes=-100', 100, true, partial([0, 99])],
    ['bytes=-1', 100, true, partial([99, 99])],
    ['bytes=-0,0-1', 100, true, partial([0, 1])],
    ['bytes=0009-0010', 100, true, partial([9, 10])],
    ['bytes=0-0,1-1,2-2,3-3,4-4', 100, true, partial([0, 0], [1, 1], [2, 2], [3, 3], [4, 4])],
    ['bytes=7-8', 100, false, partial([7, 8])],
    ['bytes=100000000000000-100000000000001', 2e14, true, partial([1e14, 1e14 + 1])],
    ['bytes=0-1', 100, true, partial([0, 1])],
  ])('%s of %d bytes (multi %s)', (header, size, multi, want) => {
    expect(parseRange(header, size, multi)).toEqual(want);
  });

  it.each<[string, number, boolean, object]>([
    ['0-1', 100, true, refused('a Range is "bytes=first-last"')],
    ['bytes x=0-1', 100, true, refused('a Range is "bytes=first-last"')],
    ['=0-1', 100, true, refused('a Range is "bytes=first-last"')],
    ['bytes=0-1,2-3,4-5,6-7,8-9,10-11', 100, true, refused('more than 5 ranges')],
    ['bytes=0-1,2-3', 100, false, refused('several ranges are turned off')],
    ['bytes=x0-1', 100, true, refused('malformed range "x0-1"')],
    ['bytes=0-1x', 100, true, refused('malformed range "0-1x"')],
    ['bytes=-', 100, true, refused('malformed range "-"')],
    [`bytes=${'1'.repeat(50)}`, 100, true, refused(`malformed range "${'1'.repeat(40)}"`)],
    ['bytes=10-9', 100, true, refused('range 10-9 ends before it starts')],
    ['bytes=6-5', 100, true, refused('range 6-5 ends before it starts')],
    ['bytes=100-', 100, true, refused('no range overlaps the 100 bytes')],
    ['bytes=-0', 100, true, refused('no range overlaps the 100 bytes')],
    ['bytes=0-0', 0, true, refused('no range overlaps the 0 bytes')],
  ])('%s of %d bytes (multi %s) is refused', (header, size, multi, want) => {
    expect(parseRange(header, size, multi)).toEqual(want);
  });

  it('writes Content-Range and frames multipart/byteranges with the exact length', () => {
    expect(contentRange({ start: 0, end: 9 }, 100)).toBe('bytes 0-9/100');
    const ranges = [
      { start: 0, end: 1 },
      { start: 5, end: 9 },
    ];
    const f = byteRangesFrame(ranges, 100, 'text/plain', 'BOUND');
    expect(f.heads.map((h) => h.toString())).toEqual([
      '--BOUND\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/100\r\n\r\n',
      '\r\n--BOUND\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-9/100\r\n\r\n',
    ]);
    expect(f.tail.toString()).toBe('\r\n--BOUND--\r\n');
    const body = f.heads[0]?.length ?? 0;
    expect(f.length).toBe(body + 2 + (f.heads[1]?.length ?? 0) + 5 + f.tail.length);
  });
});

describe('anti-steal token boundaries', () => {
  const ts = 1_700_000_000;
  const rules = { secretKey: KEY, ttlSec: 600, allowLegacyTs: false };
  const tok = (t: number) => fastdfsToken(PNG, KEY, t);

  it.each([
    ['the last second of the ttl', ts, ts + 600],
    ['a ts 5 s ahead (clock skew)', ts + 5, ts],
    ['a 12-digit ts', 100_000_000_000, 100_000_000_000],
  ])('accepts %s', (_label, t, now) => {
    expect(() => checkToken(PNG, tok(t), String(t), rules, now)).not.toThrow();
  });

  it.each<[string, string | undefined, string | undefined, number, string]>([
    ['an empty token', '', String(ts), ts, 'token and ts are required'],
    ['an empty ts', tok(ts), '', ts, 'token and ts are required'],
    ['33 hex chars', `${tok(ts)}0`, String(ts), ts, 'malformed token: expected 32 lower-case hex'],
    [
      'a token with a prefix',
      `x${tok(ts).slice(1)}`,
      String(ts),
      ts,
      'malformed token: expected 32 lower-case hex',
    ],
    [
      'a token with a suffix',
      `${tok(ts).slice(0, 31)}x`,
      String(ts),
      ts,
      'malformed token: expected 32 lower-case hex',
    ],
    ['a 13-digit ts', tok(ts), '1000000000000', ts, 'malformed ts: expected unix seconds'],
    ['a signed ts', tok(ts), `+${ts}`, ts, 'malformed ts: expected unix seconds'],
    ['a ts with a suffix', tok(ts), `${ts}s`, ts, 'malformed ts: expected unix seconds'],
    ['a ts 6 s ahead', tok(ts + 6), String(ts + 6), ts, 'ts is in the future'],
    ['one second past the ttl', tok(ts), String(ts), ts + 601, 'token expired'],
    ['ts=0', tok(0), '0', ts, 'ts=0 (a token that never expires) is refused'],
  ])('refuses %s', (_label, token, tsText, now, message) => {
    const err = failure(() => checkToken(PNG, token, tsText, rules, now));
    expect(err.status).toBe(Status.EPERM);
    expect(err.message).toBe(message);
  });

  it('with allow_legacy_ts, still expires an old ts and checks the token of ts=0', () => {
    const legacy = { ...rules, allowLegacyTs: true };
    expect(failure(() => checkToken(PNG, tok(ts), String(ts), legacy, ts + 601)).message).toBe(
      'token expired',
    );
    expect(failure(() => checkToken(PNG, tok(1), '0', legacy, ts)).message).toBe('wrong token');
  });
});

describe('response header edges', () => {
  it.each([
    ['mp4', 'video/mp4', true],
    ['mp3', 'audio/mpeg', true],
    ['json', 'application/json; charset=utf-8', true],
    ['html', 'text/html; charset=utf-8', false],
    ['zip', 'application/zip', false],
    ['nosuchext', 'application/x-default', false],
  ])('%s is %s, inline %s', (ext, type, inline) => {
    expect(typeOfExt(ext, 'application/x-default')).toEqual({ type, inline });
  });

  it.each([
    ['plain.txt', 'plain.txt'],
    ['.hidden', '.hidden'],
    ['name.', 'name'],
    ['a"b.txt', 'a_b.txt'],
    ['a\\b.txt', 'a_b.txt'],
    ['__x__.txt', 'x.txt'],
    ['  x  .txt', 'x.txt'],
    ['x...', 'x'],
    ['图.gz', 'download.gz'],
    ['x.t"t', 'x.t_t'],
    ['x.t t', 'x.t t'],
    ['file.名', 'file'],
    ['名', 'download'],
    ['é', 'e'],
  ])('asciiFileName(%j) = %j', (name, want) => {
    expect(asciiFileName(name)).toBe(want);
  });

  it('cleans and cuts names for Content-Disposition', () => {
    expect(attachment('')).toBe('attachment');
    expect(attachment('a/b\\c\rd\ne.txt')).toBe('attachment; filename="a_b_c_d_e.txt"');
    expect(attachment(`${'a'.repeat(300)}`)).toBe(`attachment; filename="${'a'.repeat(255)}"`);
    expect(attachment("it's (1)*.txt")).toBe(`attachment; filename="it's (1)*.txt"`);
    expect(attachment("é's (1)*.txt")).toBe(
      `attachment; filename="e's (1)*.txt"; filename*=UTF-8''%C3%A9%27s%20%281%29%2A.txt`,
    );
  });

  it('uses the name as ETag for normal and trunk files and size-mtime for the others', () => {
    expect(etagOf('normal', 'abc.png', 255, 16)).toBe('"abc.png"');
    expect(etagOf('trunk', 'abc.png', 255, 16)).toBe('"abc.png"');
    expect(etagOf('appender', 'abc.png', 255, 16)).toBe('"ff-10"');
    expect(etagOf('slave', 'abc.png', 255, 16)).toBe('"ff-10"');
    expect(lastModifiedOf('normal', 1, 2)).toBe(1);
    expect(lastModifiedOf('trunk', 1, 2)).toBe(1);
    expect(lastModifiedOf('appender', 1, 2)).toBe(2);
    expect(lastModifiedOf('slave', 1, 2)).toBe(2);
  });

  const facts: HeaderFacts = {
    type: 'normal',
    contentType: 'image/png',
    inline: true,
    etag: '"x"',
    lastModified: 'Tue, 14 Nov 2023 22:13:20 GMT',
    fileName: 'x.png',
  };

  it('caches public files for max-age, appenders never, credentialed answers privately', () => {
    expect(baseHeaders(facts, 60, false, undefined)).toEqual({
      'Content-Type': 'image/png',
      'Last-Modified': 'Tue, 14 Nov 2023 22:13:20 GMT',
      ETag: '"x"',
      'Cache-Control': 'public, max-age=60, immutable',
      'Accept-Ranges': 'bytes',
      'X-Content-Type-Options': 'nosniff',
    });
    expect(baseHeaders({ ...facts, type: 'appender' }, 60, false, undefined)['Cache-Control']).toBe(
      'no-cache',
    );
    expect(baseHeaders({ ...facts, type: 'appender' }, 60, true, undefined)['Cache-Control']).toBe(
      'private, no-cache',
    );
    expect(baseHeaders(facts, 60, true, undefined)['Cache-Control']).toBe('private, no-cache');
  });

  it('sends non-inline types as sandboxed attachments, and a download name as attachment', () => {
    const h = baseHeaders({ ...facts, inline: false, fileName: 'x.html' }, 60, false, undefined);
    expect(h['Content-Disposition']).toBe('attachment; filename="x.html"');
    expect(h['Content-Security-Policy']).toBe("default-src 'none'; sandbox");
    const named = baseHeaders({ ...facts, inline: false }, 60, false, 'report.html');
    expect(named['Content-Disposition']).toBe('attachment; filename="report.html"');
    const inlineNamed = baseHeaders(facts, 60, false, 'pic.png');
    expect(inlineNamed['Content-Disposition']).toBe('attachment; filename="pic.png"');
    expect(inlineNamed['Content-Security-Policy']).toBeUndefined();
  });

  it.each([
    [' * ', '"a"', true],
    ['W/"a"', '"a"', true],
    ['"a"', 'W/"a"', true],
    [' "b" ,  "a" ', '"a"', true],
    ['"a"x', '"a"', false],
    ['x"a"', '"a"', false],
    ['**', '"a"', false],
  ])('If-None-Match %j against %s: %s', (header, etag, want) => {
    expect(noneMatch(header, etag)).toBe(want);
  });

  it('If-Modified-Since compares whole seconds and ignores a bad date', () => {
    const t = 1_700_000_000;
    const at = new Date(t * 1000).toUTCString();
    expect(notModifiedSince(at, t - 1)).toBe(true);
    expect(notModifiedSince(at, t)).toBe(true);
    expect(notModifiedSince(at, t + 1)).toBe(false);
    expect(notModifiedSince('', t)).toBe(false);
  });

  it.each([
    ['"x"', true],
    [' "x" ', true],
    ['W/"x"', false],
    ['"y"', false],
    ['Tue, 14 Nov 2023 22:13:20 GMT', true],
    ['Tue, 14 Nov 2023 22:13:21 GMT', false],
    ['"x', false],
  ])('If-Range %j holds: %s', (header, want) => {
    expect(ifRangeHolds(header, '"x"', 'Tue, 14 Nov 2023 22:13:20 GMT')).toBe(want);
  });

  it('If-Range compares a weak tag to a weak ETag exactly', () => {
    expect(ifRangeHolds('W/"x"', 'W/"x"', 'date')).toBe(true);
    expect(ifRangeHolds('date', 'W/"x"', 'date')).toBe(true);
  });
});

describe('signed link limits', () => {
  const jwt = (over: Partial<HttpConfig['jwt']> = {}) => ({
    secret: SECRET,
    kid: '',
    previous: [],
    maxTtl: 3_600_000,
    ...over,
  });
  const now = 1_700_000_000;
  const key = new TextEncoder().encode(SECRET);
  const mint = (claims: { exp: number; iat?: number }, kid?: string) => {
    const t = new SignJWT({})
      .setProtectedHeader(kid === undefined ? { alg: 'HS256' } : { alg: 'HS256', kid })
      .setSubject(ID)
      .setAudience('fdfs-link')
      .setExpirationTime(claims.exp);
    if (claims.iat !== undefined) t.setIssuedAt(claims.iat);
    return t.sign(key);
  };

  it('signs ttls from 1 to max_ttl seconds and names the range otherwise', async () => {
    const links = new LinkSigner(jwt());
    expect(links.enabled).toBe(true);
    expect((await links.sign(ID, 1, now)).exp).toBe(now + 1);
    expect((await links.sign(ID, 3600, now)).exp).toBe(now + 3600);
    for (const ttl of [0, 3601, 1.5]) {
      const err = await rejection(links.sign(ID, ttl, now));
      expect(err.status).toBe(Status.EINVAL);
      expect(err.message).toBe('ttl must be a whole number of seconds from 1 to 3600');
    }
    const off = new LinkSigner(jwt({ secret: '' }));
    expect(off.enabled).toBe(false);
    expect((await rejection(off.sign(ID, 60, now))).message).toBe(
      'signed links are off (http.jwt.secret is not set)',
    );
    expect((await rejection(off.verify('x', ID, now * 1000))).message).toBe(
      'signed links are off on this gateway',
    );
  });

  it('puts iat, exp, sub, aud and the kid into the token', async () => {
    const { token } = await new LinkSigner(jwt({ kid: 'k9' })).sign(ID, 60, now);
    const part = (i: number) => JSON.parse(Buffer.from(token.split('.')[i] ?? '', 'base64url').toString());
    const [head, body] = [part(0), part(1)];
    expect(head).toEqual({ alg: 'HS256', kid: 'k9' });
    expect(body).toEqual({ sub: ID, aud: 'fdfs-link', iat: now, exp: now + 60 });
    const plain = await new LinkSigner(jwt()).sign(ID, 60, now);
    expect(JSON.parse(Buffer.from(plain.token.split('.')[0] ?? '', 'base64url').toString())).toEqual({
      alg: 'HS256',
    });
  });

  it('refuses a link that outlives max_ttl, allowing 5 s of skew', async () => {
    const links = new LinkSigner(jwt());
    await links.verify(await mint({ exp: now + 3605 }), ID, now * 1000);
    const err = await rejection(links.verify(await mint({ exp: now + 3606 }), ID, now * 1000));
    expect(err.message).toBe('signed link lives longer than http.jwt.max_ttl (3600 s)');
    expect(err.fileId).toBe(ID);
  });

  it('refuses a link issued more than 5 s in the future', async () => {
    const links = new LinkSigner(jwt());
    await links.verify(await mint({ exp: now + 60, iat: now + 5 }), ID, now * 1000);
    const err = await rejection(links.verify(await mint({ exp: now + 60, iat: now + 6 }), ID, now * 1000));
    expect(err.message).toBe('signed link is issued in the future');
    expect(err.fileId).toBe(ID);
  });

  it('names why a link fails and for which file', async () => {
    const links = new LinkSigner(jwt());
    const expired = await rejection(links.verify(await mint({ exp: now - 1 }), ID, now * 1000));
    expect([expired.message, expired.fileId]).toEqual(['signed link expired', ID]);
    const other = await rejection(links.verify(await mint({ exp: now + 60 }), `${ID}x`, now * 1000));
    expect([other.message, other.fileId]).toEqual(['signed link is for another file', `${ID}x`]);
    const junk = await rejection(links.verify('a.b.c', ID, now * 1000));
    expect([junk.message, junk.fileId]).toEqual(['invalid signed link', ID]);
  });

  it('the current kid keeps its own key even if a previous entry reuses the kid', async () => {
    const links = new LinkSigner(jwt({ kid: 'k1', previous: [{ kid: 'k1', secret: 'o'.repeat(32) }] }));
    await links.verify(await mint({ exp: now + 60 }, 'k1'), ID, now * 1000);
    const noKid = new LinkSigner(jwt({ kid: 'k1' }));
    await noKid.verify(await mint({ exp: now + 60 }), ID, now * 1000);
    const unknown = await rejection(noKid.verify(await mint({ exp: now + 60 }, 'k2'), ID, now * 1000));
    expect(unknown.message).toBe('invalid signed link');
  });

  it('a key without a kid is not reachable by an empty kid', async () => {
    const links = new LinkSigner(jwt());
    expect((await rejection(links.verify(await mint({ exp: now + 60 }, ''), ID, now * 1000))).status).toBe(
      Status.EPERM,
    );
  });
});

describe('AccessGuard', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fdfs-access-'));
    await writeFile(join(dir, 'denied.png'), 'PNGDATA');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const now = 1_700_000_000;
  const target = { fileId: ID, group: 'group1', remoteFilename: PNG };
  const guard = (text: string, lines: string[] = []) =>
    new AccessGuard(
      createContext(config(text), {
        now: () => now * 1000,
        logger: createLogger({ write: (l) => lines.push(l), level: 'debug' }),
      }),
    );
  const tokenConf = `http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = ${KEY}\n`;

  it('lets everything through without check_token or a sig, as not needing a credential', async () => {
    expect(await guard('').check(target, undefined)).toBe(false);
    expect(await guard('').check(target, new URLSearchParams('token=x'))).toBe(false);
  });

  it('checks a sig whenever one is given, even an empty one', async () => {
    const g = guard(`http.jwt.secret = ${SECRET}\n`);
    const { token } = await new LinkSigner(config(`http.jwt.secret = ${SECRET}\n`).jwt).sign(ID, 60, now);
    expect(await g.check(target, new URLSearchParams({ sig: token }))).toBe(true);
    expect((await rejection(g.check(target, new URLSearchParams('sig=')))).status).toBe(Status.EPERM);
    expect(
      (await rejection(g.check({ ...target, fileId: `${ID}x` }, new URLSearchParams({ sig: token }))))
        .message,
    ).toBe('signed link is for another file');
  });

  it('with check_token, needs the FastDFS token of the remote name within token_ttl', async () => {
    const g = guard(`${tokenConf}http.anti_steal.token_ttl = 60\n`);
    const q = (ts: number) => new URLSearchParams({ token: fastdfsToken(PNG, KEY, ts), ts: String(ts) });
    expect(await g.check(target, q(now - 60))).toBe(true);
    expect((await rejection(g.check(target, q(now - 61)))).message).toBe('token expired');
    expect((await rejection(g.check(target, undefined))).message).toBe('token and ts are required');
    const legacy = guard(`${tokenConf}http.anti_steal.allow_legacy_ts = true\n`);
    expect(await legacy.check(target, q(0))).toBe(true);
  });

  it('serves token_check_fail for a refused token only, reading it once', async () => {
    const path = join(dir, 'denied.png');
    const g = guard(`${tokenConf}http.anti_steal.token_check_fail = ${path}\n`);
    const denied = new FdfsError(Status.EPERM, 'no');
    const first = await g.fallback(denied);
    expect(first).toEqual({ data: Buffer.from('PNGDATA'), type: 'image/png' });
    expect(await g.fallback(new FdfsError(Status.ENOENT, 'gone'))).toBeUndefined();
    expect(await g.fallback(new Error('plain'))).toBeUndefined();
    await writeFile(path, 'CHANGED');
    expect(await g.fallback(denied)).toBe(first);
    await writeFile(path, 'PNGDATA');
    const lines: string[] = [];
    expect(await guard(tokenConf, lines).fallback(denied)).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('logs an unreadable token_check_fail and tries again next time', async () => {
    const path = join(dir, 'later.txt');
    const lines: string[] = [];
    const g = guard(`${tokenConf}http.anti_steal.token_check_fail = ${path}\n`, lines);
    const denied = new FdfsError(Status.EPERM, 'no');
    expect(await g.fallback(denied)).toBeUndefined();
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'error', msg: 'cannot read http.anti_steal.token_check_fail', path }),
    ]);
    await writeFile(path, 'late');
    expect(await g.fallback(denied)).toEqual({
      data: Buffer.from('late'),
      type: 'text/plain; charset=utf-8',
    });
  });
});

describe('second round (survivors of the first Stryker run)', () => {
  it('holds the fact sheet token vector', () => {
    expect(fastdfsToken(PNG, KEY, 1639989816)).toBe('3850b17674ea2028a49ee70c29ebacf9');
  });

  it.each(['jpg', 'gif', 'webp', 'avif', 'bmp', 'apng', 'tiff', 'ico', 'heic', 'heif', 'csv', 'pdf'])(
    '%s is shown inline',
    (ext) => {
      expect(typeOfExt(ext, 'x').inline).toBe(true);
    },
  );

  it.each([
    ['a.t名', 'a.t'],
    ['a名字b.txt', 'a_b.txt'],
  ])('asciiFileName(%j) = %j', (name, want) => {
    expect(asciiFileName(name)).toBe(want);
  });

  it('takes W/ only as a prefix of an entity tag', () => {
    expect(noneMatch('"W/x"', '"x"')).toBe(false);
    expect(noneMatch('"x"', '"W/x"')).toBe(false);
  });

  it.each([
    ['bytes= x0-1', 'malformed range "x0-1"'],
    ['bytes= 10-9', 'range 10-9 ends before it starts'],
  ])('%s names the spec without its spaces', (header, why) => {
    expect(parseRange(header, 100, true)).toEqual({ kind: 'unsatisfiable', why });
  });
});
