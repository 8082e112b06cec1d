import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FdfsError, Status } from '../src/common/index.js';
import {
  type ClientConfig,
  type ConfRole,
  clientConfigFrom,
  defaultClientConfig,
  defaultStorageConfig,
  defaultTrackerConfig,
  keysOf,
  type Loaded,
  loadClientConfig,
  loadStorageConfig,
  loadTrackerConfig,
  overridesFor,
  parseBoolean,
  parseConfText,
  parseDuration,
  parseHostPort,
  parseInteger,
  parsePercent,
  parseReservedSpace,
  parseSize,
  type RawConf,
  readConfFile,
  type StorageConfig,
  storageConfigFrom,
  type TrackerConfig,
  trackerConfigFrom,
} from '../src/config/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/conf/', import.meta.url));
const fx = (name: string) => join(fixtures, name);
const confDir = fileURLToPath(new URL('../conf/', import.meta.url));

const values = (raw: RawConf, key: string) => raw.get(key)?.map((e) => e.value);

function build(role: 'tracker', text: string, file?: string): Loaded<TrackerConfig>;
function build(role: 'storage', text: string, file?: string): Loaded<StorageConfig>;
function build(role: 'client', text: string, file?: string): Loaded<ClientConfig>;
function build(role: ConfRole, text: string, file?: string): Loaded<unknown>;
function build(role: ConfRole, text: string, file = 'x.conf'): Loaded<unknown> {
  const raw = parseConfText(text, file);
  const opts = { source: file };
  if (role === 'tracker') return trackerConfigFrom(raw, opts);
  if (role === 'storage') return storageConfigFrom(raw, opts);
  return clientConfigFrom(raw, opts);
}

/** Runs `fn` and returns the FdfsError it throws. */
async function failure(fn: () => unknown): Promise<FdfsError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FdfsError);
    return err as FdfsError;
  }
  throw new Error('expected a failure');
}

describe('parseConfText', () => {
  it('reads key = value lines, skipping comments and blank lines', () => {
    const raw = parseConfText(
      '\uFEFF# comment\r\n\n  port =  22122  \r\nbind_addr =\nkey = a=b # not a comment\n',
      'a.conf',
    );
    expect(raw.get('port')).toEqual([{ value: '22122', file: 'a.conf', line: 3 }]);
    expect(values(raw, 'bind_addr')).toEqual(['']);
    expect(values(raw, 'key')).toEqual(['a=b # not a comment']);
    expect(raw.size).toBe(3);
  });

  it('keeps every value of a repeated key, in order, with its line', () => {
    const raw = parseConfText('tracker_server = a:1\nport = 1\ntracker_server = b:2\n', 'r.conf');
    expect(raw.get('tracker_server')).toEqual([
      { value: 'a:1', file: 'r.conf', line: 1 },
      { value: 'b:2', file: 'r.conf', line: 3 },
    ]);
  });

  it('prefixes keys inside [section] and treats flat dotted keys the same', () => {
    const raw = parseConfText(
      'a = 1\n[error-log]\nlog_file_keep_days = 3\n[http]\nanti_steal.token_ttl = 600\n',
      's.conf',
    );
    expect(values(raw, 'a')).toEqual(['1']);
    expect(values(raw, 'error-log.log_file_keep_days')).toEqual(['3']);
    const flat = parseConfText('http.anti_steal.token_ttl = 600\n', 'f.conf');
    expect(values(raw, 'http.anti_steal.token_ttl')).toEqual(values(flat, 'http.anti_steal.token_ttl'));
  });

  it('treats ##include as a comment and refuses #include without the file system', async () => {
    expect(parseConfText('##include x.conf\n', 'c.conf').size).toBe(0);
    const err = await failure(() => parseConfText('a = 1\n#include x.conf\n', 'c.conf'));
    expect(err.message.startsWith('c.conf:2: #include x.conf')).toBe(true);
  });

  it.each([
    ['a = 1\njust words\n', 'e.conf:2: just words: expected key = value'],
    ['[bad section]\n', 'e.conf:1: [bad section]: expected [section] with a plain name'],
    ['\n\nbad key = 1\n', 'e.conf:3: bad key = 1: expected a key of letters, digits, _ . -'],
    ['= 1\n', 'e.conf:1: = 1: expected a key of letters, digits, _ . -'],
  ])('rejects bad syntax %j', async (text, message) => {
    const err = await failure(() => parseConfText(text, 'e.conf'));
    expect(err.status).toBe(Status.EINVAL);
    expect(err.message).toBe(message);
  });
});

describe('readConfFile', () => {
  it('follows includes relative to the including file, in order, keeping file and line', async () => {
    const main = fx('include/main.conf');
    const raw = await readConfFile(main);
    expect(raw.get('tracker_server')).toEqual([
      { value: '10.0.0.1:22122', file: main, line: 3 },
      { value: '10.0.0.2:22122', file: fx('include/sub/part.conf'), line: 1 },
    ]);
    // Included files start outside the includer's section; the section resumes after.
    expect(raw.get('log_level')?.map((e) => [e.value, e.file, e.line])).toEqual([
      ['warn', fx('include/sub/leaf.conf'), 1],
      ['warn', fx('include/sub/leaf.conf'), 1],
    ]);
    expect(raw.get('error-log.log_file_keep_days')).toEqual([{ value: '3', file: main, line: 8 }]);
    expect(raw.has('not-a-directive')).toBe(false);
  });

  it('detects include cycles', async () => {
    const err = await failure(() => readConfFile(fx('cycle/a.conf')));
    expect(err.status).toBe(Status.EINVAL);
    expect(err.message).toBe(
      `${fx('cycle/b.conf')}:2: #include a.conf: include cycle back to ${fx('cycle/a.conf')}`,
    );
    const self = await failure(() => readConfFile(fx('cycle/self.conf')));
    expect(self.message.startsWith(`${fx('cycle/self.conf')}:1: #include ./self.conf: include cycle`)).toBe(
      true,
    );
  });

  it('names the including line when an included file is missing', async () => {
    const err = await failure(() => readConfFile(fx('bad/missing-include.conf')));
    expect(err.status).toBe(Status.ENOENT);
    expect(err.message).toBe(
      `${fx('bad/missing-include.conf')}:3: cannot read ${fx('bad/nowhere.conf')} (ENOENT)`,
    );
  });

  it('names a missing top-level file', async () => {
    const err = await failure(() => loadClientConfig(fx('absent.conf')));
    expect(err.status).toBe(Status.ENOENT);
    expect(err.message).toBe(`cannot read ${fx('absent.conf')} (ENOENT)`);
  });

  it('reports the included file and line of a bad value', async () => {
    const err = await failure(() => loadStorageConfig(fx('bad/includes-bad.conf')));
    expect(err.message).toBe(
      `${fx('bad/bad-buff.conf')}:2: buff_size = 4KB: expected a size from 8192 to 67108864 bytes (e.g. 256KB, 1MB)`,
    );
  });
});

describe('value parsers', () => {
  it.each([
    ['0', 0],
    ['65536', 65536],
    ['256KB', 256 * 1024],
    ['256kb', 256 * 1024],
    ['8K', 8192],
    ['1MB', 1024 ** 2],
    ['1 M', 1024 ** 2],
    ['4G', 4 * 1024 ** 3],
    ['20GB', 20 * 1024 ** 3],
    ['2T', 2 * 1024 ** 4],
    ['1TB', 1024 ** 4],
    ['12B', 12],
    ['1.5MB', undefined],
    ['-1', undefined],
    ['10XB', undefined],
    ['', undefined],
  ])('parseSize(%j) = %j', (text, want) => {
    expect(parseSize(text)).toBe(want);
  });

  it.each([
    ['30', 's', 30_000],
    ['30', 'ms', 30],
    ['500ms', 's', 500],
    ['30s', 'ms', 30_000],
    ['5m', 's', 300_000],
    ['1h', 's', 3_600_000],
    ['1d', 's', 86_400_000],
    ['2D', 's', 172_800_000],
    ['10 s', 's', 10_000],
    ['1w', 's', undefined],
    ['1.5s', 's', undefined],
    ['s', 's', undefined],
  ] as const)('parseDuration(%j, %s) = %j', (text, bare, want) => {
    expect(parseDuration(text, bare)).toBe(want);
  });

  it.each([
    ['true', true],
    ['YES', true],
    ['On', true],
    ['1', true],
    ['false', false],
    ['no', false],
    ['OFF', false],
    ['0', false],
    ['2', undefined],
    ['', undefined],
  ])('parseBoolean(%j) = %j', (text, want) => {
    expect(parseBoolean(text)).toBe(want);
  });

  it('parses integers, percentages and reserved space', () => {
    expect(parseInteger('-12')).toBe(-12);
    expect(parseInteger('1e3')).toBeUndefined();
    expect(parseInteger('99999999999999999999')).toBeUndefined();
    expect(parsePercent('20%')).toBe(0.2);
    expect(parsePercent('12.5 %')).toBe(0.125);
    expect(parsePercent('101%')).toBeUndefined();
    expect(parseReservedSpace('20%')).toEqual({ kind: 'ratio', ratio: 0.2 });
    expect(parseReservedSpace('10G')).toEqual({ kind: 'bytes', bytes: 10 * 1024 ** 3 });
    expect(parseReservedSpace('0')).toEqual({ kind: 'bytes', bytes: 0 });
    expect(parseReservedSpace('x%')).toBeUndefined();
  });

  it.each([
    ['127.0.0.1:22122', { host: '127.0.0.1', port: 22122 }],
    ['tracker-1.example.com:9000', { host: 'tracker-1.example.com', port: 9000 }],
    ['10.0.0.1', { host: '10.0.0.1', port: 22122 }],
    ['[::1]:22123', { host: '::1', port: 22123 }],
    ['[fe80::1]', { host: 'fe80::1', port: 22122 }],
    ['10.0.0.1:0', undefined],
    ['10.0.0.1:65536', undefined],
    ['10.0.0.1:+80', undefined],
    ['10.0.0.1,10.0.0.2:22122', undefined],
    ['::1:22122', undefined],
    [':22122', undefined],
  ])('parseHostPort(%j)', (text, want) => {
    expect(parseHostPort(text)).toEqual(want);
  });
});

describe('errors name file:line', () => {
  const base = 'base_path = /tmp/x\ntracker_server = 10.0.0.1:22122\n';
  it.each([
    [
      'tracker',
      'base_path = /tmp/x\nport = abc\n',
      'x.conf:2: port = abc: expected an integer from 0 to 65535',
    ],
    [
      'tracker',
      'base_path = /tmp/x\n\nstore_lookup = 3\n',
      'x.conf:3: store_lookup = 3: expected one of 0, 1, 2',
    ],
    [
      'tracker',
      'base_path = /tmp/x\nstore_lookup = 1\nstore_group = g-1\n',
      'x.conf:3: store_group = g-1: expected a group name of 1 to 16 letters or digits',
    ],
    [
      'tracker',
      'base_path = /tmp/x\nreserved_storage_space = lots\n',
      'x.conf:2: reserved_storage_space = lots: expected a percentage (e.g. 20%) or a size (e.g. 10G)',
    ],
    [
      'tracker',
      'base_path = /tmp/x\nuse_storage_id = maybe\n',
      'x.conf:2: use_storage_id = maybe: expected true/false, yes/no, on/off or 1/0',
    ],
    [
      'tracker',
      'base_path = /tmp/x\nstat_layout = new\n',
      'x.conf:2: stat_layout = new: expected one of current, classic',
    ],
    [
      'tracker',
      'base_path = /tmp/x\nlog_level = loud\n',
      'x.conf:2: log_level = loud: expected a syslog level (emerg, alert, crit, error, warn, notice, info, debug)',
    ],
    [
      'tracker',
      'base_path = /tmp/x\ncheck_active_interval = 0\n',
      'x.conf:2: check_active_interval = 0: expected a duration of at least 1000ms (a number of seconds or e.g. 500ms, 30s, 5m, 1h, 1d)',
    ],
    ['tracker', 'base_path =\n', 'x.conf:1: base_path = : expected a directory path'],
    ['tracker', 'port = 1\n', 'x.conf: base_path: required'],
    ['storage', 'base_path = /tmp/x\n', 'x.conf: tracker_server: required'],
    [
      'storage',
      `${base}tracker_server = nope:port\n`,
      'x.conf:3: tracker_server = nope:port: expected host:port (one address, IPv6 as [addr]:port)',
    ],
    [
      'storage',
      `${base}sync_wait_msec = 0\n`,
      'x.conf:3: sync_wait_msec = 0: expected a duration of at least 1ms (a number of milliseconds or e.g. 500ms, 30s, 5m, 1h, 1d)',
    ],
    [
      'storage',
      `${base}subdir_count_per_path = 257\n`,
      'x.conf:3: subdir_count_per_path = 257: expected an integer from 1 to 256',
    ],
    [
      'storage',
      `${base}group_name = group_1\n`,
      'x.conf:3: group_name = group_1: expected a group name of 1 to 16 letters or digits',
    ],
    [
      'storage',
      `${base}advertise_addr = 10.0.0.5:23000\n`,
      'x.conf:3: advertise_addr = 10.0.0.5:23000: expected an IP address or host name, without a port',
    ],
    [
      'storage',
      `${base}store_path_count = 2\n`,
      'x.conf:3: store_path_count = 2: expected 1, the number of store_pathN keys given',
    ],
    [
      'storage',
      `${base}store_path0 = /a\nstore_path2 = /c\n`,
      'x.conf:4: store_path2 = /c: expected store_path1 to be set too (store paths are numbered from 0, no gaps)',
    ],
    [
      'storage',
      `${base}store_path1 = /tmp/x\n`,
      'x.conf:3: store_path1 = /tmp/x: expected a directory no other store_pathN uses',
    ],
    [
      'storage',
      `${base}store_path_count = 0\n`,
      'x.conf:3: store_path_count = 0: expected an integer from 1 to 256',
    ],
    ['client', 'base_path = /tmp/x\n', 'x.conf: tracker_server: required'],
    [
      'client',
      `${base}connect_timeout = soon\n`,
      'x.conf:3: connect_timeout = soon: expected a duration of at least 1ms (a number of seconds or e.g. 500ms, 30s, 5m, 1h, 1d)',
    ],
  ] as const)('%s: %j', async (role, text, message) => {
    const err = await failure(() => build(role, text));
    expect(err.status).toBe(Status.EINVAL);
    expect(err.message).toBe(message);
  });
});

describe('warnings', () => {
  it('warns about unknown keys with file:line, not about known unused ones', () => {
    const text = [
      'base_path = /tmp/x',
      'use_trunk_file = false',
      'prot = 22122',
      '[error-log]',
      'log_file_keep_days = 3',
      'colour = blue',
    ].join('\n');
    const { warnings } = build('tracker', text, 't.conf');
    expect(warnings).toEqual([
      't.conf:3: unknown key prot (ignored)',
      't.conf:6: unknown key error-log.colour (ignored)',
    ]);
  });

  it('warns about a key of another role', () => {
    const { warnings } = build(
      'client',
      'base_path = /x\ntracker_server = a:1\nstore_lookup = 2\n',
      'c.conf',
    );
    expect(warnings).toEqual(['c.conf:3: unknown key store_lookup (ignored)']);
  });

  it('warns when a single-valued key repeats, and the last one wins', () => {
    const { config, warnings } = build('tracker', 'base_path = /x\nport = 1\nport = 2\n', 't.conf');
    expect(config.port).toBe(2);
    expect(warnings).toEqual(['t.conf:3: port given 2 times (first at t.conf:2); using the last']);
  });

  it('drops a repeated tracker_server with a warning', () => {
    const { config, warnings } = build(
      'client',
      'base_path = /x\ntracker_server = a:1\ntracker_server = a:1\n',
    );
    expect(config.trackerServers).toEqual([{ host: 'a', port: 1 }]);
    expect(warnings).toEqual(['x.conf:3: tracker_server = a:1 is listed twice; ignoring the repeat']);
  });

  it('accepts store_path#_readonly for any path', () => {
    const text =
      'base_path = /x\ntracker_server = a:1\nstore_path0_readonly = true\nstore_path9_readonly = 0\n';
    expect(build('storage', text).warnings).toEqual([]);
  });
});

describe('overrides and keysOf', () => {
  it('routes --set keys to the roles whose conf defines them', () => {
    expect(keysOf('tracker').has('stat_layout')).toBe(true);
    expect(keysOf('storage').has('stat_layout')).toBe(false);
    expect(keysOf('storage').has('store_path5')).toBe(true);
    expect(keysOf('storage').has('durable_writes')).toBe(true);
    expect(keysOf('client').has('tracker_server')).toBe(true);
    expect(keysOf('tracker').has('tracker_server')).toBe(false);
    const all = new Map([
      ['port', ['23001']],
      ['stat_layout', ['classic']],
      ['tracker_server', ['10.0.0.9:22122']],
    ]);
    expect([...overridesFor('tracker', all).keys()]).toEqual(['port', 'stat_layout']);
    expect([...overridesFor('storage', all).keys()]).toEqual(['port', 'tracker_server']);
    expect([...overridesFor('client', all).keys()]).toEqual(['tracker_server']);
  });

  it('replaces every file value of an overridden key', async () => {
    const overrides = new Map([
      ['port', ['23001']],
      ['tracker_server', ['10.0.0.8:22122', '10.0.0.9:22122']],
      ['durable_writes', ['off']],
    ]);
    const { config, warnings } = await loadStorageConfig(join(confDir, 'storage.conf'), overrides);
    expect(warnings).toEqual([]);
    expect(config.port).toBe(23001);
    expect(config.durableWrites).toBe(false);
    expect(config.trackerServers).toEqual([
      { host: '10.0.0.8', port: 22122 },
      { host: '10.0.0.9', port: 22122 },
    ]);
  });

  it('reports a bad override as <command line>', async () => {
    const err = await failure(() =>
      loadTrackerConfig(join(confDir, 'tracker.conf'), new Map([['port', ['x']]])),
    );
    expect(err.message).toBe('<command line>: port = x: expected an integer from 0 to 65535');
    const { warnings } = defaultTrackerConfig(new Map([['bogus', ['1']]]));
    expect(warnings).toEqual(['<command line>: unknown key bogus (ignored)']);
  });
});

describe('conf/ samples', () => {
  it.each(['tracker', 'storage', 'client'] as const)(
    'conf/%s.conf loads without warnings and lists every key',
    async (role) => {
      const file = join(confDir, `${role}.conf`);
      const load = { tracker: loadTrackerConfig, storage: loadStorageConfig, client: loadClientConfig }[role];
      const { config, warnings } = await load(file);
      expect(warnings).toEqual([]);
      expect(Object.isFrozen(config)).toBe(true);
      expect(config.basePath).toBe(resolve(`data/${role}`));
      const raw = await readConfFile(file);
      const missing = [...keysOf(role)].filter((k) => !raw.has(k) && !/^store_path[1-9]\d*$/.test(k));
      expect(missing).toEqual([]);
    },
  );

  it('conf/storage.conf describes the single-machine setup', async () => {
    const { config } = await loadStorageConfig(join(confDir, 'storage.conf'));
    expect(config.storePaths).toEqual([resolve('data/storage')]);
    expect(config.trackerServers).toEqual([{ host: '127.0.0.1', port: 22122 }]);
    expect(config.reservedStorageSpace).toEqual({ kind: 'bytes', bytes: 0 });
    expect(config.durableWrites).toBe(true);
    expect(Object.isFrozen(config.storePaths)).toBe(true);
    expect(Object.isFrozen(config.trackerServers[0])).toBe(true);
  });
});

describe('stock FastDFS confs', () => {
  it.each(['6.16', '6.06'])('a stock %s tracker.conf loads without warnings', async (v) => {
    const { config, warnings } = await loadTrackerConfig(fx(`stock-${v}-tracker.conf`));
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      disabled: false,
      bindAddr: '',
      port: 22122,
      connectTimeout: 5000,
      networkTimeout: 60_000,
      maxConnections: 1024,
      storeLookup: 2,
      storeGroup: 'group2',
      storeServer: 0,
      storePath: 0,
      downloadServer: 0,
      reservedStorageSpace: { kind: 'ratio', ratio: 0.2 },
      checkActiveInterval: 120_000,
      storageSyncFileMaxDelay: 86_400_000,
      storageSyncFileMaxTime: 300_000,
      useStorageId: false,
      storageIdsFilename: fx('storage_ids.conf'),
      idTypeInFilename: 'id',
      statLayout: 'current',
      logLevel: 'info',
    });
  });

  it.each([
    ['6.16', '/opt/fastdfs', 10],
    ['6.06', '/home/yuqing/fastdfs', 50],
  ])('a stock %s storage.conf loads without warnings', async (v, path, syncWait) => {
    const { config, warnings } = await loadStorageConfig(fx(`stock-${v}-storage.conf`));
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      groupName: 'group1',
      port: 23000,
      heartBeatInterval: 30_000,
      statReportInterval: 60_000,
      basePath: path,
      buffSize: 256 * 1024,
      storePaths: [path],
      subdirCountPerPath: 256,
      trackerServers: [
        { host: '192.168.209.121', port: 22122 },
        { host: '192.168.209.122', port: 22122 },
      ],
      fileDistributePathMode: 0,
      fileDistributeRotateCount: 100,
      reservedStorageSpace: { kind: 'bytes', bytes: 0 },
      syncWaitMsec: syncWait,
      syncInterval: 0,
      syncPushConnections: 64,
      uploadPriority: 10,
      durableWrites: true,
      advertiseAddr: '',
    });
  });

  it.each(['6.16', '6.06'])('a stock %s client.conf loads without warnings', async (v) => {
    const { config, warnings } = await loadClientConfig(fx(`stock-${v}-client.conf`));
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      connectTimeout: 5000,
      networkTimeout: 60_000,
      trackerServers: [
        { host: '192.168.0.196', port: 22122 },
        { host: '192.168.0.197', port: 22122 },
      ],
      useConnectionPool: false,
      connectionPoolMaxIdleTime: 3_600_000,
      logLevel: 'info',
    });
  });

  it('a client conf including http.conf (flat keys and an [http] section) loads without warnings', async () => {
    const { warnings } = await loadClientConfig(fx('client-with-http.conf'));
    expect(warnings).toEqual([]);
  });
});

describe('defaults and paths', () => {
  it('builds every role with no file at all', () => {
    const tracker = defaultTrackerConfig().config;
    expect(tracker).toMatchObject({
      port: 22122,
      storeLookup: 2,
      statLayout: 'current',
      idTypeInFilename: 'ip',
    });
    expect(tracker.reservedStorageSpace).toEqual({ kind: 'ratio', ratio: 0.2 });
    expect(tracker.basePath).toBe(resolve('data/tracker'));
    expect(tracker.storageIdsFilename).toBe(resolve('storage_ids.conf'));
    const storage = defaultStorageConfig(new Map([['base_path', ['/srv/s']]])).config;
    expect(storage).toMatchObject({
      port: 23000,
      syncWaitMsec: 50,
      storePaths: ['/srv/s'],
      groupName: 'group1',
    });
    expect(storage.trackerServers).toEqual([{ host: '127.0.0.1', port: 22122 }]);
    const client = defaultClientConfig().config;
    expect(client).toMatchObject({ connectTimeout: 5000, networkTimeout: 60_000, useConnectionPool: true });
    expect(Object.isFrozen(tracker) && Object.isFrozen(storage) && Object.isFrozen(client)).toBe(true);
  });

  it('accepts durations with units and several store paths', () => {
    const text = [
      'base_path = rel/base',
      'tracker_server = [::1]:22122',
      'heart_beat_interval = 500ms',
      'sync_wait_msec = 2s',
      'store_path1 = /disk1',
      'store_path2 = /disk2',
      'store_path_count = 3',
      'reserved_storage_space = 12.5%',
      'log_level = NOTICE',
    ].join('\n');
    const { config, warnings } = build('storage', text);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ heartBeatInterval: 500, syncWaitMsec: 2000, logLevel: 'info' });
    expect(config).toHaveProperty('storePaths', [resolve('rel/base'), '/disk1', '/disk2']);
    expect(config).toHaveProperty('reservedStorageSpace', { kind: 'ratio', ratio: 0.125 });
  });

  it('resolves storage_ids_filename against the conf file that names it', async () => {
    const { config } = await loadTrackerConfig(fx('ids.conf'));
    expect(config.useStorageId).toBe(true);
    expect(config.storageIdsFilename).toBe(fx('storage_ids.conf'));
    const over = await loadTrackerConfig(fx('ids.conf'), new Map([['storage_ids_filename', ['ids/x.conf']]]));
    expect(over.config.storageIdsFilename).toBe(resolve('ids/x.conf'));
  });
});
