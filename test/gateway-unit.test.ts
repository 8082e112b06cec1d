/** The gateway's pure parts, table-driven: tokens, links, bearer auth, ranges, URLs, headers, http.conf. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { FdfsError, Status } from '../src/common/index.js';
import { httpConfigFrom, keysOf, loadHttpConfig, parseConfText, readConfFile } from '../src/config/index.js';
import type { HttpConfig } from '../src/config/types.js';
import { Authenticator } from '../src/gateway/auth.js';
import { clusterView } from '../src/gateway/cluster-view.js';
import { attachment, noneMatch, notModifiedSince, typeOfExt } from '../src/gateway/file-headers.js';
import {
  checkToken,
  fastdfsToken,
  httpStatusOf,
  LinkSigner,
  parseFileUrl,
  parseRange,
  type RemoteStore,
} from '../src/gateway/index.js';
import {
  emptyCounters,
  type GroupStat,
  type StorageStat,
  type SyncStatusRow,
} from '../src/protocol/index.js';

const confDir = fileURLToPath(new URL('../conf/', import.meta.url));
const KEY = 'FastDFS1234567890';
const SECRET = 'a-link-secret-of-at-least-32-characters!';
const PNG = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
const JPG = 'M00/00/00/wKgACWHCyqeAR1X_AAAFTB0Vk_Y126.jpg';

function config(text: string): HttpConfig {
  return httpConfigFrom(
    parseConfText(`base_path = /tmp/x\ntracker_server = 127.0.0.1:22122\n${text}`, 'h.conf'),
  ).config;
}

function failure(fn: () => unknown): FdfsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FdfsError);
    return err as FdfsError;
  }
  throw new Error('expected a failure');
}

async function rejection(p: Promise<unknown>): Promise<FdfsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FdfsError);
    return err as FdfsError;
  }
  throw new Error('expected a rejection');
}

describe('FastDFS anti-steal token (fact sheet §6.1)', () => {
  it('holds both test vectors', () => {
    expect(fastdfsToken(PNG, KEY, 1639989816)).toBe('3850b17674ea2028a49ee70c29ebacf9');
    expect(fastdfsToken(JPG, KEY, 1640155815)).toBe('504ed4f38c0a243749289a670f737a60');
  });

  const rules = { secretKey: KEY, ttlSec: 600, allowLegacyTs: false };
  const now = 1639989816 + 100;
  const good = fastdfsToken(PNG, KEY, 1639989816);
  it.each([
    ['accepted within the ttl', good, '1639989816', undefined],
    ['missing token', undefined, '1639989816', 'token and ts are required'],
    ['missing ts', good, undefined, 'token and ts are required'],
    [
      'upper-case hex (FastDFS compares case-sensitively)',
      good.toUpperCase(),
      '1639989816',
      'malformed token',
    ],
    ['short token', good.slice(1), '1639989816', 'malformed token'],
    ['wrong token', fastdfsToken(PNG, 'other', 1639989816), '1639989816', 'wrong token'],
    ['token of another ts', good, '1639989817', 'wrong token'],
    ['ts=0, which FastDFS never expires', fastdfsToken(PNG, KEY, 0), '0', 'ts=0'],
    ['ts in the future', fastdfsToken(PNG, KEY, now + 3600), String(now + 3600), 'future'],
    ['expired', good, '1639989816', 'expired', now + 601],
    ['ts not a number', good, '16x', 'malformed ts'],
  ])('%s', (_name, token, ts, why, at = now) => {
    if (why === undefined) {
      checkToken(PNG, token, ts, rules, at);
      return;
    }
    const err = failure(() => checkToken(PNG, token, ts, rules, at));
    expect(err.status).toBe(Status.EPERM);
    expect(httpStatusOf(err)).toBe(403);
    expect(err.message).toContain(why);
  });

  it('accepts ts=0 and future timestamps only with allow_legacy_ts', () => {
    const legacy = { ...rules, allowLegacyTs: true };
    checkToken(PNG, fastdfsToken(PNG, KEY, 0), '0', legacy, now + 10 ** 6);
    checkToken(PNG, fastdfsToken(PNG, KEY, now + 3600), String(now + 3600), legacy, now);
  });
});

describe('signed links (JWT, HS256)', () => {
  const jwt = (over: Partial<HttpConfig['jwt']> = {}) => ({
    secret: SECRET,
    kid: '',
    previous: [],
    maxTtl: 86_400_000,
    ...over,
  });
  const id = `group1/${PNG}`;
  const now = 1_700_000_000;

  it('opens the file it was made for until exp, and nothing else', async () => {
    const links = new LinkSigner(jwt());
    const { token, exp } = await links.sign(id, 600, now);
    expect(exp).toBe(now + 600);
    await links.verify(token, id, (now + 599) * 1000);
    expect((await rejection(links.verify(token, id, (now + 601) * 1000))).message).toContain('expired');
    expect((await rejection(links.verify(token, `group1/${JPG}`, now * 1000))).message).toContain(
      'another file',
    );
    expect((await rejection(links.verify(`${token}x`, id, now * 1000))).status).toBe(Status.EPERM);
    const other = new LinkSigner(jwt({ secret: 'b'.repeat(32) }));
    expect((await rejection(other.verify(token, id, now * 1000))).message).toContain('invalid');
  });

  it('needs exp, HS256 and the link audience', async () => {
    const links = new LinkSigner(jwt());
    const key = new TextEncoder().encode(SECRET);
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(id)
      .setAudience('fdfs-link')
      .sign(key);
    const noAud = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(id)
      .setExpirationTime(now + 60)
      .sign(key);
    for (const token of [noExp, noAud]) {
      expect((await rejection(links.verify(token, id, now * 1000))).status).toBe(Status.EPERM);
    }
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: id, exp: now + 60, aud: 'fdfs-link' })).toString('base64url')}.`;
    expect((await rejection(links.verify(unsigned, id, now * 1000))).status).toBe(Status.EPERM);
  });

  it('rotates keys by kid: old links keep working, unknown kids fail', async () => {
    const old = new LinkSigner(jwt({ kid: 'k1' }));
    const { token } = await old.sign(id, 600, now);
    const rotated = new LinkSigner(
      jwt({ secret: 'n'.repeat(32), kid: 'k2', previous: [{ kid: 'k1', secret: SECRET }] }),
    );
    await rotated.verify(token, id, now * 1000);
    await rotated.verify((await rotated.sign(id, 60, now)).token, id, now * 1000);
    const dropped = new LinkSigner(jwt({ secret: 'n'.repeat(32), kid: 'k2' }));
    expect((await rejection(dropped.verify(token, id, now * 1000))).status).toBe(Status.EPERM);
  });

  it('refuses a ttl outside 1..max_ttl and signing without a key (501)', async () => {
    const links = new LinkSigner(jwt());
    expect((await rejection(links.sign(id, 0, now))).status).toBe(Status.EINVAL);
    expect((await rejection(links.sign(id, 86_401, now))).status).toBe(Status.EINVAL);
    const off = await rejection(new LinkSigner(jwt({ secret: '' })).sign(id, 60, now));
    expect(httpStatusOf(off)).toBe(501);
  });
});

describe('bearer auth', () => {
  const key = 'an-api-key-0123456789';
  const jwtSecret = 'j'.repeat(32);
  const now = 1_700_000_000_000;
  const bearer = (scope: unknown, exp = now / 1000 + 60, aud?: string) => {
    const b = new SignJWT(scope === undefined ? {} : { scope })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(exp);
    if (aud) b.setAudience(aud);
    return b.sign(new TextEncoder().encode(jwtSecret));
  };

  it('is off without keys, and then everything is open', async () => {
    const auth = new Authenticator({ apiKeys: [], jwtSecret: '' });
    expect(auth.enabled).toBe(false);
    expect(await auth.require(undefined, 'delete', now)).toBe('open');
  });

  it('takes an API key or a JWT with the scope; 401 without, 403 with the wrong scope', async () => {
    const auth = new Authenticator({ apiKeys: ['another-key-000000', key], jwtSecret });
    expect(await auth.require(`Bearer ${key}`, 'delete', now)).toBe('api-key#1');
    expect(await auth.require(`Bearer ${await bearer('upload delete')}`, 'delete', now)).toBe('jwt');
    expect(await auth.require(`Bearer ${await bearer(['sign'])}`, 'sign', now)).toBe('jwt');
    const cases: [string | undefined, number][] = [
      [undefined, 401],
      ['Basic abc', 401],
      [`Bearer ${key}x`, 401],
      [`Bearer ${await bearer('upload')}`, 403],
      [`Bearer ${await bearer(undefined)}`, 403],
      [`Bearer ${await bearer('delete', now / 1000 - 1)}`, 401],
      [`Bearer ${await bearer('delete', undefined, 'fdfs-link')}`, 401],
    ];
    for (const [header, status] of cases) {
      expect(httpStatusOf(await rejection(auth.require(header, 'delete', now))), String(header)).toBe(status);
    }
  });
});

describe('Range (RFC 9110, 5 ranges at most as FDFS_MAX_HTTP_RANGES)', () => {
  it.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-9', [[0, 9]]],
    ['bytes=0-0', [[0, 0]]],
    ['bytes=90-', [[90, 99]]],
    ['bytes=-10', [[90, 99]]],
    ['bytes=-500', [[0, 99]]],
    ['bytes=95-500', [[95, 99]]],
    [
      'bytes=0-1, 5-6',
      [
        [0, 1],
        [5, 6],
      ],
    ],
    ['bytes=0-1,200-300', [[0, 1]]],
    // Past the end, in any number of digits (beyond 2^64 too): clamped to the end (RFC 9110 §14.1.2).
    ['bytes=0-99999999999999999999', [[0, 99]]],
    [`bytes=0-${'9'.repeat(400)}`, [[0, 99]]],
    ['bytes=90-00000000000000000000000099999', [[90, 99]]],
    [`bytes=-${'9'.repeat(40)}`, [[0, 99]]],
    ['bytes=000000000000000000005-6', [[5, 6]]],
    // A unit we do not know is ignored, not refused (RFC 9110 §14.2).
    ['items=0-1', { kind: 'full' }],
    ['Lines = 1-2', { kind: 'full' }],
  ])('%s', (header, want) => {
    const got = parseRange(header, 100, true);
    if (Array.isArray(want)) {
      expect(got).toEqual({ kind: 'partial', ranges: want.map(([start, end]) => ({ start, end })) });
    } else expect(got).toEqual(want);
  });

  it.each([
    'bytes=100-',
    'bytes=200-300',
    'bytes=5-1',
    'bytes=abc',
    'bytes=',
    'bytes=-',
    'bytes=-0',
    'bytes 0-1',
    '=0-1',
    'by tes=0-1',
    'bytes=1-2,3-4,5-6,7-8,9-10,11-12',
    `bytes=${'9'.repeat(30)}-`,
    `bytes=${'9'.repeat(30)}-${'9'.repeat(29)}`,
  ])('%s is unsatisfiable (416)', (header) => {
    expect(parseRange(header, 100, true).kind).toBe('unsatisfiable');
  });

  it('several ranges are refused when multi-range is off', () => {
    expect(parseRange('bytes=0-1,3-4', 100, false).kind).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1', 0, true).kind).toBe('unsatisfiable');
  });
});

describe('file URLs', () => {
  const id = `group1/${PNG}`;
  it('reads both URL forms', () => {
    expect(parseFileUrl(`/${id}`, '')?.fileId).toBe(id);
    expect(parseFileUrl(`/${PNG}`, 'group1')?.fileId).toBe(id);
    expect(parseFileUrl(`/${PNG}`, 'g2')?.group).toBe('g2');
  });

  it('leaves other routes alone', () => {
    const other = ['/', '/healthz', '/metrics', '/api/cluster', '/app.js', '/a/b/c', `/group1//${PNG}`];
    for (const p of other) {
      expect(parseFileUrl(p, 'group1')).toBeUndefined();
    }
  });

  it.each([
    '/group1/M00/00/00/../../../etc/passwd',
    '/group1/M00/00/00/%2e%2e/%2e%2e/etc/passwd',
    '/group1/M00/%2E%2E/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png',
    '/group1/M00/00/00/..',
    '/group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png/',
    '//M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png',
    '/group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png-m',
    '/bad-group!/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png',
    '/group1/M00/0g/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png',
  ])('refuses %s with 400', (path) => {
    expect(httpStatusOf(failure(() => parseFileUrl(path, 'group1')))).toBe(400);
  });

  it('refuses a URL without group when there is no default group', () => {
    expect(failure(() => parseFileUrl(`/${PNG}`, '')).message).toContain('no group');
  });
});

describe('response headers', () => {
  it('carries Chinese names in filename* (RFC 5987) with an ASCII stand-in', () => {
    expect(attachment('报告 2024.pdf')).toBe(
      `attachment; filename="2024.pdf"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%202024.pdf`,
    );
    expect(attachment('plain.txt')).toBe('attachment; filename="plain.txt"');
    expect(attachment('a"b\r\n.txt')).toContain('filename="a_b.txt"');
    // curl -OJ saves under the ASCII stand-in: never `__.png`, the extension and ASCII kept.
    expect(attachment('图片.png')).toMatch(/^attachment; filename="download.png"; filename\*=/);
    expect(attachment('café 2024.txt')).toMatch(/^attachment; filename="cafe 2024.txt"; /);
    expect(attachment('名字')).toMatch(/^attachment; filename="download"; /);
    expect(attachment('Ünïcödé 名.tar.gz')).toMatch(/^attachment; filename="Unicode _.tar.gz"; /);
    expect(attachment("图's (1).txt")).toContain("filename*=UTF-8''%E5%9B%BE%27s%20%281%29.txt");
  });

  it('shows only an allowlist inline; script-capable types are attachments', () => {
    expect(typeOfExt('png', 'x')).toEqual({ type: 'image/png', inline: true });
    expect(typeOfExt('txt', 'x')).toEqual({ type: 'text/plain; charset=utf-8', inline: true });
    for (const ext of ['html', 'svg', 'xml', 'js', 'xhtml']) expect(typeOfExt(ext, 'x').inline).toBe(false);
    expect(typeOfExt('', 'application/octet-stream')).toEqual({
      type: 'application/octet-stream',
      inline: false,
    });
  });

  it('compares validators as RFC 9110 says', () => {
    expect(noneMatch('"a", W/"b"', '"b"')).toBe(true);
    expect(noneMatch('*', '"b"')).toBe(true);
    expect(noneMatch('"c"', '"b"')).toBe(false);
    const t = 1_700_000_000;
    expect(notModifiedSince(new Date(t * 1000).toUTCString(), t)).toBe(true);
    expect(notModifiedSince(new Date((t - 1) * 1000).toUTCString(), t)).toBe(false);
    expect(notModifiedSince('not a date', t)).toBe(false);
  });
});

describe('errno → HTTP table', () => {
  it.each([
    [Status.EINVAL, 400],
    [Status.EACCES, 401],
    [Status.EPERM, 403],
    [Status.ENOENT, 404],
    [Status.EEXIST, 409],
    [Status.EFBIG, 413],
    [Status.EOPNOTSUPP, 501],
    [Status.ECONNREFUSED, 502],
    [Status.ETIMEDOUT, 504],
    [Status.ENOSPC, 507],
    [Status.EIO, 500],
  ])('errno %i → %i', (errno, http) => {
    expect(httpStatusOf(new FdfsError(errno, 'x'))).toBe(http);
  });

  it('anything not an FdfsError is a 500', () => {
    expect(httpStatusOf(new Error('bug'))).toBe(500);
  });
});

describe('http.conf', () => {
  it('conf/http.conf loads without warnings and lists every key', async () => {
    const file = join(confDir, 'http.conf');
    const { config, warnings } = await loadHttpConfig(file);
    expect(warnings).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.port).toBe(8080);
    expect(config.client.useConnectionPool).toBe(true);
    expect(config.antiSteal).toMatchObject({ checkToken: false, tokenTtl: 600_000, allowLegacyTs: false });
    const raw = await readConfFile(file);
    // previous_secret, api_key and s3.credential are repeatable examples, and s3.server_port has
    // no fixed default port in a sample shared by every role: left commented out in the sample.
    const optional = new Set([
      'http.jwt.previous_secret',
      'http.auth.api_key',
      'http.multi_range.enabed',
      's3.server_port',
      's3.credential',
    ]);
    expect([...keysOf('http')].filter((k) => !raw.has(k) && !optional.has(k))).toEqual([]);
  });

  it('reads a stock FastDFS http.conf, flat or as an [http] section', () => {
    const c = config(
      'http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = FastDFS1234567890\n' +
        'http.mime_types_filename = mime.types\n[http]\nanti_steal.token_ttl = 900\nmulti_range.enabed = false\n',
    );
    expect(c.antiSteal).toMatchObject({ checkToken: true, secretKey: KEY, tokenTtl: 900_000 });
    expect(c.multiRange).toBe(false);
  });

  it.each([
    ['http.anti_steal.check_token = true', 'secret_key'],
    ['http.jwt.secret = short', 'at least 32'],
    ['http.auth.api_key = short', 'at least 16'],
    ['http.jwt.previous_secret = nokid', 'kid:secret'],
    ['http.group_name = bad-group', 'group name'],
    ['http.public_url = ftp://x', 'base URL'],
    ['http.upload.max_size = lots', 'size'],
  ])('refuses %s', (line, why) => {
    expect(failure(() => config(line)).message).toContain(why);
  });

  it('warns about unknown keys, naming file and line', () => {
    const { warnings } = httpConfigFrom(
      parseConfText('base_path=/x\ntracker_server=h:1\nhttp.sever_port = 1\n', 'h.conf'),
    );
    expect(warnings).toEqual(['h.conf:3: unknown key http.sever_port (ignored)']);
  });
});

describe('/api/cluster view', () => {
  const stat = (id: string, lastSourceUpdate: number, lastSyncedTimestamp: number) =>
    ({
      id,
      ip: id,
      status: 7,
      storagePort: 23000,
      counters: { ...emptyCounters(), lastSourceUpdate, lastSyncedTimestamp },
    }) as StorageStat;
  const group = { groupName: 'group1' } as GroupStat;
  function remote(rows: SyncStatusRow[] | undefined): RemoteStore {
    const fake: Pick<RemoteStore, 'listGroups' | 'listStorages' | 'syncStatus'> = {
      listGroups: async () => [group],
      listStorages: async () => [stat('10.0.0.1', 1000, 1290), stat('10.0.0.2', 1300, 990)],
      syncStatus: async () => rows,
    };
    return fake as RemoteStore;
  }

  it('gives each storage its peers (syncFrom) beside the per-storage figure', async () => {
    const view = await clusterView(
      remote([
        { dest: '10.0.0.1', source: '10.0.0.2', syncedUntil: 1290 },
        { dest: '10.0.0.2', source: '10.0.0.1', syncedUntil: 0 },
      ]),
    );
    const [a, b] = view.groups[0]?.storages ?? [];
    expect(a).toMatchObject({
      syncLag: 10,
      syncFrom: [{ source: '10.0.0.2', syncedUntil: 1290, lag: 10, neverSynced: false }],
    });
    expect(b).toMatchObject({
      syncFrom: [{ source: '10.0.0.1', syncedUntil: 0, lag: null, neverSynced: true }],
    });
  });

  it('has syncFrom null when the tracker has no matrix (a FastDFS tracker)', async () => {
    const view = await clusterView(remote(undefined));
    expect(view.groups[0]?.storages.map((s) => s.syncFrom)).toEqual([null, null]);
  });
});
