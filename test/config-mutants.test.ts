/**
 * Edge cases found by `npm run mutate` over src/config: allow_hosts forms at their boundaries
 * (ranges, CIDR widths, case, IPv4-mapped addresses, names) and storage_ids.conf lines.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FdfsError, Status } from '../src/common/index.js';
import {
  type AllowRule,
  allowHostsFilter,
  allowHostsMatch,
  defaultHttpConfig,
  loadHttpConfig,
  loadStorageIds,
  parseAllowHostsValue,
  parseStorageIds,
  plainAddress,
  resolveAllowHosts,
  StorageIdList,
} from '../src/config/index.js';

function allows(value: string, ip: string): boolean {
  const rules = parseAllowHostsValue(value);
  if (!rules) throw new Error(`not parsed: ${value}`);
  return allowHostsMatch(rules, ip);
}

describe('allow_hosts edges', () => {
  it.each([
    // Multi-digit octets everywhere, through the IPv4-mapped form and its upper-case prefix.
    ['192.168.100.200', '::ffff:192.168.100.200', true],
    ['192.168.100.200', '::FFFF:192.168.100.200', true],
    ['192.168.100.200', '192.168.100.201', false],
    ['192.168.100.200', '192.168.101.200', false],
    // A CIDR base that is not on its block boundary still means the whole block.
    ['192.168.5.70/26', '192.168.5.64', true],
    ['192.168.5.70/26', '192.168.5.127', true],
    ['192.168.5.70/26', '192.168.5.128', false],
    ['10.0.0.9/32', '10.0.0.9', true],
    ['10.0.0.9/32', '10.0.0.10', false],
    ['10.0.0.9/32', '10.0.0.8', false],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.0.0.0/8', '9.255.255.255', false],
    // Spaces inside a bracket, a one-number range, a range of one.
    ['10.0.0.[1 - 3, 5]', '10.0.0.3', true],
    ['10.0.0.[1 - 3, 5]', '10.0.0.4', false],
    ['10.0.0.[1 - 3, 5]', '10.0.0.5', true],
    ['10.0.0.[7-7]', '10.0.0.7', true],
    ['10.0.0.[7-7]', '10.0.0.8', false],
    ['10.0.0.[7-7]', '10.0.0.6', false],
    // IPv6: case-insensitive, exact, never matched by an IPv4 block.
    ['FE80::1', 'fe80::1', true],
    ['fe80::1', 'FE80::1', true],
    ['fe80::1', 'fe80::2', false],
    ['0.0.0.0/0', '::1', false],
    ['0.0.0.0/0', 'fe80::1', false],
  ])('%s allows %s: %s', (value, ip, expected) => {
    expect(allows(value, ip)).toBe(expected);
  });

  it.each([
    '10.0.0.1]',
    'host]',
    '10.0.0.[3-1]',
    '10.0.0.[1,x]',
    '10.0.0.[]',
    '10.0.0.0/',
    '10.0.0.0/x8',
    '10.0.0.0/8x',
    '10.0.0.0/008',
    'host/8',
    '/8',
    '-host',
    'host-',
    'ho st!',
    '1.2.3.4.5',
    ' , ',
    'h[0-65536]',
    'x]y[1]z',
    'x[1]y]z',
    '10.0.0.[x1]',
    '10.0.0.[1x]',
    '10.0.0.[1-2x]',
  ])('refuses the value %j', (value) => {
    expect(parseAllowHostsValue(value)).toBeUndefined();
  });

  it('host names: one letter, lower-cased, widths from the bounds, ranges up to 65536 values', () => {
    expect(parseAllowHostsValue('a')).toEqual([{ kind: 'host', name: 'a' }]);
    // Only all-digits-and-dots is taken for a mistyped address; a name may start with digits.
    expect(parseAllowHostsValue('1.2.3x')).toEqual([{ kind: 'host', name: '1.2.3x' }]);
    expect(parseAllowHostsValue('Host.Example-1.COM')).toEqual([
      { kind: 'host', name: 'host.example-1.com' },
    ]);
    expect(parseAllowHostsValue('n[8-10].x')).toEqual([
      { kind: 'host', name: 'n8.x' },
      { kind: 'host', name: 'n9.x' },
      { kind: 'host', name: 'n10.x' },
    ]);
    expect(parseAllowHostsValue('n[008-010]')?.map((r) => (r.kind === 'host' ? r.name : ''))).toEqual([
      'n008',
      'n009',
      'n010',
    ]);
    expect(parseAllowHostsValue('h[60000-60001]')).toHaveLength(2);
    expect(parseAllowHostsValue('h[0-65535]')).toHaveLength(65536);
    expect(parseAllowHostsValue('10.0.0.1,h[1-2] 10.0.0.2')).toEqual([
      { kind: 'v4', from: 0x0a000001, to: 0x0a000001 },
      { kind: 'host', name: 'h1' },
      { kind: 'host', name: 'h2' },
      { kind: 'v4', from: 0x0a000002, to: 0x0a000002 },
    ]);
    expect(parseAllowHostsValue('192.168.5.70/26')).toEqual([
      { kind: 'v4', from: 0xc0a80540, to: 0xc0a8057f },
    ]);
    expect(parseAllowHostsValue('FE80::A')).toEqual([{ kind: 'v6', ip: 'fe80::a' }]);
  });

  it('plainAddress strips only a leading ::ffff: before a whole dotted IPv4 address', () => {
    expect(plainAddress('::ffff:10.20.30.40')).toBe('10.20.30.40');
    expect(plainAddress('::FfFf:1.2.3.4')).toBe('1.2.3.4');
    expect(plainAddress('::ffff:1.2.3.4.5')).toBe('::ffff:1.2.3.4.5');
    expect(plainAddress('::ffff:1.2.3')).toBe('::ffff:1.2.3');
    expect(plainAddress('x::ffff:1.2.3.4')).toBe('x::ffff:1.2.3.4');
    expect(plainAddress('::ffff:a.2.3.4')).toBe('::ffff:a.2.3.4');
    expect(plainAddress('::1')).toBe('::1');
  });

  it('a host rule that was never resolved matches nobody', () => {
    const rules: AllowRule[] = [{ kind: 'host', name: 'localhost' }];
    expect(allowHostsMatch(rules, '127.0.0.1')).toBe(false);
    expect(allowHostsMatch([], '203.0.113.1')).toBe(true);
  });

  it('resolving keeps address rules, drops answers that are not addresses, maps ::ffff: answers', async () => {
    const warned: string[] = [];
    const out = await resolveAllowHosts(
      [
        { kind: 'v4', from: 1, to: 2 },
        { kind: 'host', name: 'h' },
      ],
      async () => ['not-an-address', '::ffff:10.1.1.1', 'FE80::2'],
      (name) => warned.push(name),
    );
    expect(out).toEqual([
      { kind: 'v4', from: 1, to: 2 },
      { kind: 'v4', from: 0x0a010101, to: 0x0a010101 },
      { kind: 'v6', ip: 'fe80::2' },
    ]);
    expect(warned).toEqual([]);
    // No rules at all stays "everyone", not "nobody".
    expect(
      await resolveAllowHosts(
        [],
        async () => ['10.0.0.1'],
        () => {},
      ),
    ).toEqual([]);
    // A name whose answers are none of them addresses refuses everyone.
    const junk = await resolveAllowHosts(
      [{ kind: 'host', name: 'h' }],
      async () => ['x'],
      () => {},
    );
    expect(allowHostsMatch(junk, '10.0.0.1')).toBe(false);
    expect(junk).toHaveLength(1);
    // IPv6 clients too: the "nobody" rule once matched every IPv6 address.
    for (const ip of ['::1', 'fe80::1', '0.0.0.0', '255.255.255.255'])
      expect(allowHostsMatch(junk, ip)).toBe(false);
  });

  it('allowHostsFilter: "*" anywhere or no rules allow all; otherwise only the rules', async () => {
    const warn = (): void => {};
    const any = await allowHostsFilter([{ kind: 'v4', from: 1, to: 1 }, { kind: 'any' }], warn);
    expect(any('203.0.113.1')).toBe(true);
    expect((await allowHostsFilter([], warn))('203.0.113.1')).toBe(true);
    const only = await allowHostsFilter(parseAllowHostsValue('10.0.0.1') ?? [], warn);
    expect(only('10.0.0.1')).toBe(true);
    expect(only('10.0.0.2')).toBe(false);
    // localhost resolves through the hosts file, no network needed.
    const named = await allowHostsFilter([{ kind: 'host', name: 'localhost' }], warn);
    expect(named('127.0.0.1')).toBe(true);
    expect(named('10.9.9.9')).toBe(false);
  });
});

describe('storage_ids.conf edges', () => {
  it.each([
    ['a g1 10.0.0.1', { id: 'a', group: 'g1', hosts: ['10.0.0.1'], port: 0 }],
    ['A_b.c:d-e123456 g1 h', { id: 'A_b.c:d-e123456', group: 'g1', hosts: ['h'], port: 0 }],
    ['16777215 g1 h', { id: '16777215', group: 'g1', hosts: ['h'], port: 0 }],
    ['1 g1 h:1', { id: '1', group: 'g1', hosts: ['h'], port: 1 }],
    ['1 g1 h:65535', { id: '1', group: 'g1', hosts: ['h'], port: 65535 }],
    ['1 g1 ::1', { id: '1', group: 'g1', hosts: ['::1'], port: 0 }],
    ['1 g1 fe80::1:2', { id: '1', group: 'g1', hosts: ['fe80::1:2'], port: 0 }],
    ['1 g1 [::1]', { id: '1', group: 'g1', hosts: ['::1'], port: 0 }],
    ['1 g1 [::1],[fe80::2]:9', { id: '1', group: 'g1', hosts: ['::1', 'fe80::2'], port: 9 }],
    ['  1\tg1   h  # note', { id: '1', group: 'g1', hosts: ['h'], port: 0 }],
    ['1 g1 h rw= x_y=1', { id: '1', group: 'g1', hosts: ['h'], port: 0 }],
  ])('parses %j', (text, entry) => {
    expect(parseStorageIds(text)).toEqual([entry]);
  });

  it.each([
    ['16777216 g1 h', 'ids.conf:1: 16777216 g1 h: expected a numeric id from 1 to 16777215'],
    ['\n# c\n1 g1 h:0', 'ids.conf:3: 1 g1 h:0: expected an address'],
    ['1 g1 h:65536', 'expected an address'],
    ['1 g1 h,', 'expected an address'],
    ['1 g1 ,h', 'expected an address'],
    ['1 g1 []:23000', 'expected an address'],
    ['1 g1 h RW=x', 'options of the form key=value'],
    ['1 g1 h rw', 'options of the form key=value'],
    ['1 g1 h x rw=1', 'options of the form key=value'],
    ['a/b g1 h', 'an id of 1 to 15'],
    ['1 g1 a,b:7\n2 g1 c,b:7', 'ids.conf:2: 2 g1 c,b:7: expected an address:port not already given to 1'],
  ])('refuses %j', (text, why) => {
    let caught: unknown;
    try {
      parseStorageIds(text, 'ids.conf');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FdfsError);
    expect((caught as FdfsError).status).toBe(Status.EINVAL);
    expect((caught as FdfsError).message).toContain(why);
  });

  it.each([
    ['x/y g1 h', 'ids.conf:3: x/y g1 h: expected an id of 1 to 15'],
    ['1 g-1 h', 'ids.conf:3: 1 g-1 h: expected a group name'],
    ['1 g1 h k', 'ids.conf:3: 1 g1 h k: expected options of the form key=value'],
    ['1 g1 h Xrw=1', 'ids.conf:3: 1 g1 h Xrw=1: expected options of the form key=value'],
    ['0 g1 h', 'ids.conf:3: 0 g1 h: expected a numeric id'],
    ['1 g1 i', 'ids.conf:3: 1 g1 i: expected a unique id (1 is listed twice)'],
  ])('on line 3, %j is refused naming its line', (line, why) => {
    expect(() => parseStorageIds(`1 g1 h\n\n${line}`, 'ids.conf')).toThrow(why);
  });

  it('brackets come off a whole host only', () => {
    expect(parseStorageIds('1 g1 a[b],[c]d,[e]')[0]?.hosts).toEqual(['a[b]', '[c]d', 'e']);
  });

  it('names storage_ids.conf by default; blank and comment lines count for line numbers', () => {
    expect(() => parseStorageIds('\r\n   \n  # x\n0 g1 h')).toThrow('storage_ids.conf:4: 0 g1 h: expected');
  });

  it('one address may repeat without a port, in another group, or on another port', () => {
    const list = parseStorageIds(
      ['1 g1 h', '2 g1 h', '3 g2 h:5', '4 g1 h:5', '5 g1 h:6', '6 g1 i:5'].join('\n'),
    );
    expect(list.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(Object.isFrozen(list[0])).toBe(true);
    expect(Object.isFrozen(list[0]?.hosts)).toBe(true);
  });

  it('find: an exact port beats "any port", whichever comes first; byId; lines', () => {
    const ids = new StorageIdList(parseStorageIds('7 g1 h:23000\n8 g1 h\n9 g2 fe80::1\n10 g1 a,b'));
    expect(ids.find('g1', 'h', 23000)?.id).toBe('7');
    expect(ids.find('g1', 'h', 23001)?.id).toBe('8');
    expect(ids.find('g1', 'b', 1)?.id).toBe('10');
    expect(ids.find('g1', 'c', 1)).toBeUndefined();
    expect(ids.find('g2', 'h', 23000)).toBeUndefined();
    expect(ids.byId('9')?.hosts).toEqual(['fe80::1']);
    expect(ids.byId('1')).toBeUndefined();
    expect(ids.lines()).toEqual(['7 g1 h:23000', '8 g1 h', '9 g2 [fe80::1]', '10 g1 a,b']);
    const reversed = new StorageIdList(parseStorageIds('8 g1 h\n7 g1 h:23000'));
    expect(reversed.find('g1', 'h', 23000)?.id).toBe('7');
  });

  it('loadStorageIds reads the file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fdfs-ids-'));
    try {
      const path = join(dir, 'ids.conf');
      await writeFile(path, '1 g1 h\n2 g1 ');
      await expect(loadStorageIds(path)).rejects.toThrow(`${path}:2: 2 g1 : expected an address`);
      await writeFile(path, '1 g1 h\n');
      expect(await loadStorageIds(path)).toEqual([{ id: '1', group: 'g1', hosts: ['h'], port: 0 }]);
      const missing = join(dir, 'none.conf');
      const err = await loadStorageIds(missing).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FdfsError);
      expect((err as FdfsError).status).toBe(Status.ENOENT);
      expect((err as FdfsError).message).toMatch(
        new RegExp(`^storage_ids_filename ${missing}: cannot read: ENOENT`),
      );
      expect((err as FdfsError).cause).toBeInstanceOf(Error);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function http(pairs: Record<string, string | string[]>) {
  const map = new Map(Object.entries(pairs).map(([k, v]) => [k, typeof v === 'string' ? [v] : v]));
  return defaultHttpConfig(map).config;
}

const S32 = 'x'.repeat(32);

describe('http.conf edges', () => {
  it('defaults, every section frozen', () => {
    const c = defaultHttpConfig().config;
    expect(c).toEqual({
      bindAddr: '',
      port: 8080,
      maxConnections: 4096,
      headerTimeout: 5000,
      client: {
        connectTimeout: 5000,
        networkTimeout: 60000,
        basePath: expect.stringMatching(/[/\\]data[/\\]gateway$/),
        trackerServers: [{ host: '127.0.0.1', port: 22122 }],
        useConnectionPool: true,
        connectionPoolMaxIdleTime: 3_600_000,
        logLevel: 'info',
      },
      groupName: '',
      publicUrl: '',
      defaultContentType: 'application/octet-stream',
      cacheMaxAge: 30 * 86_400_000,
      multiRange: true,
      antiSteal: {
        checkToken: false,
        tokenTtl: 600_000,
        secretKey: '',
        tokenCheckFail: '',
        allowLegacyTs: false,
      },
      jwt: { secret: '', kid: '', previous: [], maxTtl: 7 * 86_400_000 },
      auth: { apiKeys: [], jwtSecret: '' },
      upload: { maxSize: 100 * 1024 * 1024, maxFiles: 16, maxFields: 64 },
      cache: { maxFileSize: 256 * 1024, maxMemory: 64 * 1024 * 1024, revalidate: 1000 },
      s3: {
        port: null,
        region: 'us-east-1',
        credentials: [],
        domain: '',
        maxObjectSize: 5 * 1024 ** 3,
        gcInterval: 3_600_000,
        gcGrace: 600_000,
        namespace: '',
      },
      image: {
        presets: [],
        quality: 80,
        maxDimension: 4096,
        maxPixels: 50_000_000,
        maxInputSize: 32 * 1024 * 1024,
        maxRenders: 2,
        maxQueue: 32,
        renderTimeout: 10_000,
      },
    });
    for (const part of [c.image, c.image.presets]) expect(Object.isFrozen(part)).toBe(true);
    for (const part of [c, c.client, c.antiSteal, c.jwt, c.jwt.previous, c.auth, c.auth.apiKeys, c.upload]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    for (const part of [c.cache, c.s3, c.s3.credentials]) expect(Object.isFrozen(part)).toBe(true);
  });

  it('every key read, at its bounds', () => {
    const c = http({
      'http.bind_addr': '127.0.0.2',
      'http.server_port': '65535',
      'http.max_connections': '1000000',
      'http.header_timeout': '100ms',
      'http.group_name': 'group7',
      'http.public_url': 'https://cdn.example/base//',
      'http.default_content_type': 'text/plain',
      'http.cache_max_age': '0',
      'http.multi_range.enabed': 'false',
      'http.anti_steal.check_token': 'true',
      'http.anti_steal.secret_key': 'k',
      'http.anti_steal.token_ttl': '1',
      'http.anti_steal.token_check_fail': '/srv/denied.jpg',
      'http.anti_steal.allow_legacy_ts': 'true',
      'http.jwt.secret': S32,
      'http.jwt.kid': 'k'.repeat(64),
      'http.jwt.previous_secret': [`old:${S32}`, `a_b.c-1:${S32}:tail`],
      'http.jwt.max_ttl': '1',
      'http.auth.api_key': ['k'.repeat(16), 'm'.repeat(20)],
      'http.auth.jwt_secret': `${S32}y`,
      'http.upload.max_size': '1',
      'http.upload.max_files': '1000',
      'http.upload.max_fields': '10000',
      'http.cache.max_file_size': '16MB',
      'http.cache.max_memory': '0',
      'http.cache.revalidate': '5',
      use_connection_pool: 'false',
      connection_pool_max_idle_time: '1',
      log_level: 'debug',
      's3.server_port': '0',
      's3.region': 'r'.repeat(32),
      's3.domain': 'S3.Example.com, s3.local,x-1.y',
      's3.credential': ['abc:12345678', `${'K'.repeat(128)}:s:e:c:r:e:t`],
      's3.max_object_size': '1',
      's3.gc_interval': '0',
      's3.gc_grace': '90s',
      's3.namespace': 'postgres://fdfs:pw@db.example:5432/fdfs?schema=s3',
    });
    expect(c).toMatchObject({
      bindAddr: '127.0.0.2',
      port: 65535,
      maxConnections: 1_000_000,
      headerTimeout: 100,
      groupName: 'group7',
      publicUrl: 'https://cdn.example/base',
      defaultContentType: 'text/plain',
      cacheMaxAge: 0,
      multiRange: false,
      antiSteal: {
        checkToken: true,
        secretKey: 'k',
        tokenTtl: 1000,
        tokenCheckFail: '/srv/denied.jpg',
        allowLegacyTs: true,
      },
      jwt: {
        secret: S32,
        kid: 'k'.repeat(64),
        previous: [
          { kid: 'old', secret: S32 },
          { kid: 'a_b.c-1', secret: `${S32}:tail` },
        ],
        maxTtl: 1000,
      },
      auth: { apiKeys: ['k'.repeat(16), 'm'.repeat(20)], jwtSecret: `${S32}y` },
      upload: { maxSize: 1, maxFiles: 1000, maxFields: 10_000 },
      cache: { maxFileSize: 16 * 1024 * 1024, maxMemory: 0, revalidate: 5 },
      client: { useConnectionPool: false, connectionPoolMaxIdleTime: 1000, logLevel: 'debug' },
      s3: {
        port: 0,
        region: 'r'.repeat(32),
        domain: 'S3.Example.com, s3.local,x-1.y',
        credentials: [
          { accessKey: 'abc', secretKey: '12345678' },
          { accessKey: 'K'.repeat(128), secretKey: 's:e:c:r:e:t' },
        ],
        maxObjectSize: 1,
        gcInterval: 0,
        gcGrace: 90_000,
        namespace: 'postgres://fdfs:pw@db.example:5432/fdfs?schema=s3',
      },
    });
    expect(Object.isFrozen(c.jwt.previous[0])).toBe(true);
    expect(Object.isFrozen(c.s3.credentials[0])).toBe(true);
    // A long header timeout is capped below Node's 300 s request timeout.
    expect(http({ 'http.header_timeout': '400' }).headerTimeout).toBe(300_000);
    expect(http({ 'http.header_timeout': '299' }).headerTimeout).toBe(299_000);
    // The right spelling wins over the misspelt one; a relative fail file is resolved.
    expect(http({ 'http.multi_range.enabled': 'true', 'http.multi_range.enabed': 'false' }).multiRange).toBe(
      true,
    );
    expect(http({ 'http.multi_range.enabled': 'false' }).multiRange).toBe(false);
    expect(http({ 'http.anti_steal.token_check_fail': 'denied.jpg' }).antiSteal.tokenCheckFail).toMatch(
      /^[/\\].*denied\.jpg$/,
    );
    expect(http({ 's3.server_port': '9000' }).s3.port).toBe(9000);
    expect(http({ 's3.server_port': '' }).s3.port).toBeNull();
    expect(http({ 'http.anti_steal.token_check_fail': '' }).antiSteal.tokenCheckFail).toBe('');
    expect(http({ 's3.max_object_size': '9007199254740990' }).s3.maxObjectSize).toBe(9007199254740990);
    expect(http({ 'http.upload.max_size': '9007199254740990' }).upload.maxSize).toBe(9007199254740990);
    expect(http({ 'http.public_url': 'http://h' }).publicUrl).toBe('http://h');
    expect(http({ 'http.public_url': '' }).publicUrl).toBe('');
    expect(http({ 'http.jwt.secret': '', 'http.group_name': '' })).toMatchObject({
      groupName: '',
      jwt: { secret: '' },
    });
  });

  it.each([
    [{ 'http.server_port': '65536' }, 'http.server_port = 65536'],
    [{ 'http.max_connections': '0' }, 'http.max_connections = 0'],
    [{ 'http.max_connections': '1000001' }, 'http.max_connections'],
    [{ 'http.header_timeout': '99ms' }, 'http.header_timeout'],
    [{ 'http.group_name': 'bad-group' }, 'http.group_name = bad-group: expected a group name of 1 to 16'],
    [{ 'http.jwt.secret': 'x'.repeat(31) }, 'expected a secret of at least 32 characters'],
    [{ 'http.auth.jwt_secret': 'x'.repeat(31) }, 'http.auth.jwt_secret'],
    [
      { 'http.jwt.previous_secret': S32 },
      'expected kid:secret (kid of [A-Za-z0-9_.-], secret of at least 32',
    ],
    [{ 'http.jwt.previous_secret': `:${S32}` }, 'http.jwt.previous_secret'],
    [{ 'http.jwt.previous_secret': `a/b:${S32}` }, 'http.jwt.previous_secret'],
    [{ 'http.jwt.previous_secret': `${'k'.repeat(65)}:${S32}` }, 'http.jwt.previous_secret'],
    [{ 'http.jwt.previous_secret': `k:${'x'.repeat(31)}` }, 'http.jwt.previous_secret'],
    [{ 'http.jwt.kid': 'a/b' }, 'http.jwt.kid = a/b: expected a key id of'],
    [{ 'http.jwt.kid': 'k'.repeat(65) }, 'http.jwt.kid'],
    [{ 'http.jwt.max_ttl': '999ms' }, 'http.jwt.max_ttl'],
    [
      { 'http.auth.api_key': 'k'.repeat(15) },
      `http.auth.api_key = ${'k'.repeat(15)}: expected a key of at least 16 characters`,
    ],
    [{ 'http.public_url': 'ftp://h' }, 'http.public_url = ftp://h: expected an http:// or https:// base URL'],
    [{ 'http.public_url': 'xhttp://h' }, 'http.public_url'],
    [{ 'http.public_url': 'http://' }, 'http.public_url'],
    [{ 'http.public_url': 'http://h/p?x' }, 'http.public_url'],
    [{ 'http.public_url': 'http://h/p#x' }, 'http.public_url'],
    [{ 'http.public_url': 'http://h/a b' }, 'http.public_url'],
    [{ 'http.anti_steal.check_token': 'true' }, 'http.anti_steal.secret_key (check_token is on)'],
    [{ 'http.anti_steal.token_ttl': '999ms' }, 'http.anti_steal.token_ttl'],
    [{ 'http.upload.max_size': '0' }, 'http.upload.max_size'],
    [{ 'http.upload.max_files': '1001' }, 'http.upload.max_files'],
    [{ 'http.upload.max_fields': '0' }, 'http.upload.max_fields'],
    [{ 'http.cache.max_file_size': '16777217' }, 'http.cache.max_file_size'],
    [{ connection_pool_max_idle_time: '0' }, 'connection_pool_max_idle_time'],
    [{ 's3.server_port': '65536' }, 's3.server_port'],
    [{ 's3.region': 'EU' }, 's3.region = EU: expected a region name such as us-east-1'],
    [{ 's3.region': 'r'.repeat(33) }, 's3.region'],
    [{ 's3.domain': 'a,,b' }, 's3.domain = a,,b: expected host names separated by commas'],
    [{ 's3.domain': '_x' }, 's3.domain'],
    [{ 's3.domain': 'x_' }, 's3.domain'],
    [{ 's3.namespace': 'mysql://db/x' }, 's3.namespace = mysql://db/x: expected empty (lmdb'],
    [{ 's3.namespace': 'postgres://' }, 's3.namespace'],
    [{ 's3.namespace': 'postgres://db /x' }, 's3.namespace'],
    [{ 's3.namespace': 'mysql://u:pw-9@db/x' }, 's3.namespace = mysql://u:[redacted]@db/x: expected'],
    [
      { 's3.credential': 'ab:12345678' },
      'ACCESS_KEY:SECRET_KEY (access key of 3..128 [A-Za-z0-9_.-], secret of at least 8',
    ],
    [{ 's3.credential': 'abc:1234567' }, 's3.credential'],
    [{ 's3.credential': ':12345678' }, 's3.credential'],
    [{ 's3.credential': 'abcdefghijk' }, 's3.credential'],
    [{ 's3.credential': 'a/c:12345678' }, 's3.credential'],
    [{ 's3.credential': `${'K'.repeat(129)}:12345678` }, 's3.credential'],
    [
      { 's3.credential': ['abc:12345678', 'abc:87654321'] },
      's3.credential = abc:87654321: expected one line per access key (abc repeats)',
    ],
    [{ 's3.max_object_size': '0' }, 's3.max_object_size'],
    [{ 's3.max_object_size': '9007199254740991' }, 's3.max_object_size = 9007199254740991'],
    [{ 'http.upload.max_size': '9007199254740991' }, 'http.upload.max_size = 9007199254740991'],
    [
      { 'http.anti_steal.check_token': 'true' },
      '<conf>: http.anti_steal.secret_key (check_token is on): required',
    ],
  ])('refuses %j', (pairs, why) => {
    expect(() => http(pairs as Record<string, string>)).toThrow(why);
  });

  it('loadHttpConfig: the file, then overrides; errors name the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fdfs-http-'));
    try {
      const path = join(dir, 'http.conf');
      await writeFile(
        path,
        'base_path = /tmp/gw\ntracker_server = 127.0.0.1:22122\nhttp.server_port = 81\nhttp.anti_steal.token_check_fail = deny.jpg\n',
      );
      const { config } = await loadHttpConfig(path);
      expect(config.port).toBe(81);
      expect(config.antiSteal.tokenCheckFail).toBe(join(dir, 'deny.jpg'));
      expect((await loadHttpConfig(path, new Map([['http.server_port', ['82']]]))).config.port).toBe(82);
      // Keys no entry names (a missing tracker_server) are blamed on the file itself.
      await writeFile(path, 'base_path = /tmp/gw\n');
      await expect(loadHttpConfig(path)).rejects.toThrow(`${path}: tracker_server: required`);
      await writeFile(path, 'base_path = /tmp/gw\nhttp.server_port = x\n');
      await expect(loadHttpConfig(path)).rejects.toThrow(`${path}:2: http.server_port = x`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
