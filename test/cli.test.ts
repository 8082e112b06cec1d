/** The built `fdfs` client verbs as child processes against a running `fdfs start`. */
import { randomBytes } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysOf } from '../src/config/index.js';
import { fdfs, writeClientConf } from './helpers/cli.js';
import { eventually, type RunningNode, startNode, tempDir } from './helpers/node-process.js';
import { deadAddress } from './helpers/raw-peer.js';

let node: RunningNode;
let dir: string;
let conf: string;

const CONF_DIR = resolve(import.meta.dirname, '../conf');
const FIXTURES = resolve(import.meta.dirname, 'fixtures/conf');

async function localFile(name: string, data: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

/** `fdfs upload` that must succeed; returns the printed file id. */
async function upload(path: string, ...extra: string[]): Promise<string> {
  const r = await fdfs(['upload', conf, path, ...extra]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.out.trim();
}

beforeAll(async () => {
  node = await startNode();
  dir = await tempDir('fdfs-cli-');
  conf = await writeClientConf(dir, node.tracker);
  // The storage joins and turns ACTIVE shortly after start.
  await eventually(async () => {
    const r = await fdfs(['monitor', conf, '--json']);
    const storages = JSON.parse(r.out).groups.flatMap((g: { storages: unknown[] }) => g.storages);
    if (!storages.some((s: { statusName: string }) => s.statusName === 'ACTIVE')) throw new Error('not yet');
  });
}, 30_000);

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
});

describe('fdfs upload → info → download → delete', () => {
  it('round-trips a file and reports what fdfs_file_info reports', async () => {
    const data = randomBytes(300_000);
    const path = await localFile('photo.jpg', data);
    const id = await upload(path);
    expect(id).toMatch(/^group1\/M00\/[0-9A-F]{2}\/[0-9A-F]{2}\/[A-Za-z0-9_-]{27}\d{3}\.jpg$/);

    const info = await fdfs(['info', conf, id]);
    expect(info.code).toBe(0);
    expect(info.out).toContain('GET FROM SERVER: false');
    expect(info.out).toContain('file type: normal');
    expect(info.out).toContain(`source ip address: ${node.storage.host}`);
    expect(info.out).toMatch(/file create timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(info.out).toContain(`file size: ${data.length}`);
    const crc = crc32(data) >>> 0;
    expect(info.out).toContain(`file crc32: ${crc | 0} (0x${crc.toString(16).padStart(8, '0')})`);

    const fromServer = JSON.parse((await fdfs(['info', conf, id, '--server', '--json'])).out);
    expect(fromServer).toMatchObject({ fileId: id, fromServer: true, size: data.length, crc32: crc });

    const out = join(dir, 'photo.out.jpg');
    const dl = await fdfs(['download', conf, id, out]);
    expect(dl.code).toBe(0);
    expect(dl.out).toBe('');
    expect((await readFile(out)).equals(data)).toBe(true);

    const del = await fdfs(['delete', conf, id]);
    expect(del).toMatchObject({ code: 0, out: '', stderr: '' });
    expect((await fdfs(['info', conf, id, '--server'])).code).toBe(2);
  });

  it('downloads to stdout with "-", a byte range, and into the file id name by default', async () => {
    const data = randomBytes(70_000);
    const id = await upload(await localFile('range.bin', data));
    const all = await fdfs(['download', conf, id, '-']);
    expect(all.code).toBe(0);
    expect(all.stdout.equals(data)).toBe(true);
    const part = await fdfs(['download', conf, id, '-', '1000', '500']);
    expect(part.stdout.equals(data.subarray(1000, 1500))).toBe(true);
    const tail = await fdfs(['download', conf, id, '-', '69000']);
    expect(tail.stdout.equals(data.subarray(69000))).toBe(true);
    const named = await fdfs(['download', conf, id], dir);
    expect(named.code).toBe(0);
    const name = id.slice(id.lastIndexOf('/') + 1);
    expect((await readFile(join(dir, name))).equals(data)).toBe(true);
  });

  it('uploads with --meta, reads it back, replaces and merges it', async () => {
    const id = await upload(
      await localFile('m.txt', Buffer.from('meta')),
      '--meta',
      'width=800',
      '--meta',
      'a=b=c',
    );
    expect((await fdfs(['meta', 'get', conf, id])).out).toBe('a=b=c\nwidth=800\n');
    expect((await fdfs(['meta', 'set', conf, id, 'height=600', '--merge'])).code).toBe(0);
    const merged = JSON.parse((await fdfs(['meta', 'get', conf, id, '--json'])).out);
    expect(merged.metadata).toEqual({ a: 'b=c', height: '600', width: '800' });
    expect((await fdfs(['meta', 'set', conf, id, 'only=1'])).code).toBe(0);
    expect((await fdfs(['meta', 'get', conf, id])).out).toBe('only=1\n');
  });

  it('takes metadata up to FastDFS limits and names the entry, limit and size beyond them', async () => {
    const id = await upload(await localFile('lim.txt', Buffer.from('limits')));
    const name64 = 'n'.repeat(64);
    const value256 = 'é'.repeat(128); // 256 bytes in UTF-8
    expect((await fdfs(['meta', 'set', conf, id, `${name64}=${value256}`])).code).toBe(0);
    expect((await fdfs(['meta', 'get', conf, id])).out).toBe(`${name64}=${value256}\n`);
    const longValue = await fdfs(['meta', 'set', conf, id, `desc=${'v'.repeat(300)}`]);
    expect(longValue.code).toBe(22);
    expect(longValue.stderr).toContain('metadata value of "desc" is 300 bytes; values are at most 256 bytes');
    const longName = await fdfs(['meta', 'set', conf, id, `${'n'.repeat(65)}=1`]);
    expect(longName.code).toBe(22);
    expect(longName.stderr).toContain('is 65 bytes; names are at most 64 bytes');
    const onUpload = await fdfs([
      'upload',
      conf,
      await localFile('lim2.txt', Buffer.from('x')),
      '--meta',
      `é=${'é'.repeat(129)}`,
    ]);
    expect(onUpload.code).toBe(22);
    expect(onUpload.stderr).toContain('metadata value of "é" is 258 bytes');
    // Nothing was changed by the refused calls.
    expect((await fdfs(['meta', 'get', conf, id])).out).toBe(`${name64}=${value256}\n`);
    const help = await fdfs(['meta', '--help']);
    expect(help.out).toContain('a name is 1 to 64 bytes, a value at most 256 bytes');
    expect(help.out).not.toContain('cuts');
  });

  it('appends to an appender file made by upload-appender and by upload --appender', async () => {
    const a = Buffer.from('first part\n');
    const b = randomBytes(5000);
    const idA = (await fdfs(['upload-appender', conf, await localFile('log.txt', a)])).out.trim();
    const idB = await upload(await localFile('log2.txt', a), '--appender');
    for (const id of [idA, idB]) {
      const r = await fdfs(['append', conf, id, await localFile('more.bin', b)]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const info = await fdfs(['info', conf, id]);
      expect(info.out).toContain('GET FROM SERVER: true');
      expect(info.out).toContain('file type: appender');
      expect(info.out).toContain(`file size: ${a.length + b.length}`);
      expect((await fdfs(['download', conf, id, '-'])).stdout.equals(Buffer.concat([a, b]))).toBe(true);
    }
  });

  it('uploads straight to a storage given as ip:port, with a store path index', async () => {
    const data = randomBytes(1000);
    const storage = `${node.storage.host}:${node.storage.port}`;
    const id = await upload(await localFile('direct.dat', data), storage, '0');
    expect(id.startsWith('group1/M00/')).toBe(true);
    expect((await fdfs(['download', conf, id, '-'])).stdout.equals(data)).toBe(true);
  });

  it('works without a conf file: "-" plus --set tracker_server', async () => {
    const tracker = `tracker_server=${node.tracker.host}:${node.tracker.port}`;
    const id = (
      await fdfs(['upload', '-', await localFile('noconf.txt', Buffer.from('x')), '--set', tracker])
    ).out.trim();
    expect(id).toMatch(/^group1\//);
    expect((await fdfs(['delete', '-', id, '--set', tracker])).code).toBe(0);
  });
});

describe('exit status and the error line', () => {
  it('a missing file exits with 2 (ENOENT) and one line naming the file id and the server', async () => {
    const id = await upload(await localFile('gone.txt', Buffer.from('soon gone')));
    expect((await fdfs(['delete', conf, id])).code).toBe(0);
    const storage = `${node.storage.host}:${node.storage.port}`;
    const cases = [
      ['delete', conf, id],
      ['download', conf, id, join(dir, 'gone.out')],
      ['info', conf, id, '--server'],
      ['meta', 'get', conf, id],
    ];
    const results = await Promise.all(cases.map((args) => fdfs(args)));
    for (const [i, r] of results.entries()) {
      expect(r.code, cases[i]?.join(' ')).toBe(2);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(id);
      expect(lines[0]).toContain(storage);
      expect(lines[0]).toContain('ENOENT');
    }
    // A failed download leaves no local file behind.
    await expect(access(join(dir, 'gone.out'))).rejects.toThrow();
  });

  it('an unreachable tracker exits with ECONNREFUSED (111) and names the tracker', async () => {
    const down = await deadAddress();
    const dead = await writeClientConf(await tempDir('fdfs-cli-dead-'), down);
    const id = 'group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
    const cases = [
      ['upload', dead, await localFile('x.txt', Buffer.from('x'))],
      ['download', dead, id, '-'],
      ['delete', dead, id],
      ['monitor', dead],
      ['upload', '-', join(dir, 'x.txt'), '--set', `tracker_server=${down.host}:${down.port}`],
    ];
    const results = await Promise.all(cases.map((args) => fdfs(args)));
    for (const [i, r] of results.entries()) {
      const args = cases[i] ?? [];
      expect(r.code, args.join(' ')).toBe(111);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`${down.host}:${down.port}`);
      expect(lines[0]).toContain('ECONNREFUSED');
      if (args.includes(id)) expect(lines[0]).toContain(id);
    }
  });

  it('bad command lines exit with EINVAL (22) and point at --help', async () => {
    const cases = [
      ['upload', conf],
      ['upload', conf, 'a', 'b', 'c', 'd'],
      ['download', conf, 'group1/M00/00/00/x', '-', 'minus-one'],
      ['info', conf, 'not-a-file-id'],
      ['meta', 'frob', conf],
      ['upload', conf, join(dir, 'x.txt'), '--no-such-option'],
    ];
    const results = await Promise.all(cases.map((args) => fdfs(args)));
    for (const [i, r] of results.entries()) {
      expect(r.code, cases[i]?.join(' ')).toBe(22);
      expect(r.stderr).toMatch(/^fdfs \w+/);
    }
  });

  it('a local file that does not exist exits with 2 and names it', async () => {
    const r = await fdfs(['upload', conf, join(dir, 'no-such-file.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no-such-file.txt');
  });

  it('--json puts results on stdout and errors on stderr as JSON', async () => {
    const up = JSON.parse(
      (await fdfs(['upload', conf, await localFile('j.txt', Buffer.from('json')), '--json'])).out,
    );
    expect(up).toMatchObject({ size: 4, appender: false });
    const info = JSON.parse((await fdfs(['info', conf, up.fileId, '--json'])).out);
    expect(info).toMatchObject({ fileId: up.fileId, type: 'normal', size: 4, fromServer: false });
    const dl = JSON.parse((await fdfs(['download', conf, up.fileId, join(dir, 'j.out'), '--json'])).out);
    expect(dl).toMatchObject({ fileId: up.fileId, bytes: 4 });
    expect(JSON.parse((await fdfs(['meta', 'set', conf, up.fileId, 'k=v', '--json'])).out)).toMatchObject({
      mode: 'overwrite',
    });
    expect(JSON.parse((await fdfs(['delete', conf, up.fileId, '--json'])).out)).toEqual({
      fileId: up.fileId,
      deleted: true,
    });
    const failed = await fdfs(['delete', conf, up.fileId, '--json']);
    expect(failed.code).toBe(2);
    expect(failed.out).toBe('');
    expect(JSON.parse(failed.stderr)).toMatchObject({
      ok: false,
      error: { status: 2, code: 'FDFS_ERR_ENOENT', fileId: up.fileId },
    });
  });
});

describe('fdfs monitor', () => {
  it('prints groups and storages like fdfs_monitor, with status names and heartbeat times', async () => {
    const r = await fdfs(['monitor', conf]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`tracker server is ${node.tracker.host}:${node.tracker.port}`);
    expect(r.out).toContain('group count: 1');
    expect(r.out).toContain('group name = group1');
    expect(r.out).toMatch(/disk free space {6}= +\d/);
    expect(r.out).toContain(`ip_addr = ${node.storage.host}  ACTIVE`);
    expect(r.out).toContain(`storage_port = ${node.storage.port}`);
    expect(r.out).toMatch(/last_heart_beat_time = \d{4}-/);
    expect(r.out).toMatch(/last_synced_timestamp = /);

    const json = JSON.parse((await fdfs(['monitor', conf, '--json'])).out);
    const [group] = json.groups;
    expect(group).toMatchObject({ groupName: 'group1', storageCount: 1 });
    const [storage] = group.storages;
    expect(storage).toMatchObject({
      statusName: 'ACTIVE',
      storagePort: node.storage.port,
      syncLagSeconds: null,
      // Our tracker's per-peer matrix (command 121): a storage alone in its group has no peer.
      syncFrom: [],
    });
    expect(storage.counters.lastHeartBeatTime).toBeGreaterThan(0);
    expect(storage.freeMb).toBeGreaterThan(0);

    const brief = await fdfs(['monitor', conf, 'list', 'group1', '--brief']);
    expect(brief.out).toMatch(new RegExp(`${node.storage.host}:${node.storage.port} +ACTIVE`));
    const none = await fdfs(['monitor', conf, 'list', 'nosuchgroup']);
    expect(none.code).toBe(2);
  });
});

describe('fdfs check', () => {
  it('detects the role of each sample conf and prints the effective config', async () => {
    const cases = [
      [join(CONF_DIR, 'tracker.conf'), 'tracker'],
      [join(CONF_DIR, 'storage.conf'), 'storage'],
      [join(CONF_DIR, 'client.conf'), 'client'],
      [join(FIXTURES, 'stock-6.16-storage.conf'), 'storage'],
      [join(CONF_DIR, 'http.conf'), 'http'],
      [join(FIXTURES, 'stock-6.06-tracker.conf'), 'tracker'],
      [join(FIXTURES, 'stock-6.06-client.conf'), 'client'],
      [join(FIXTURES, 'client-with-http.conf'), 'client'],
      [conf, 'client'],
    ] as const;
    const results = await Promise.all(cases.map(([file]) => fdfs(['check', file, '--json'])));
    for (const [i, r] of results.entries()) {
      const [file, role] = cases[i] ?? [];
      expect(r.code, file).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ role, valid: true });
    }
    const text = await fdfs(['check', conf]);
    expect(text.out).toContain(`\ntracker_server = ${node.tracker.host}:${node.tracker.port}\n`);
    const over = JSON.parse(
      (await fdfs(['check', join(CONF_DIR, 'tracker.conf'), '--set', 'port=22999', '--json'])).out,
    );
    expect(over.config.port).toBe(22999);
  });

  it('prints conf keys, each one the role reads, not the camelCase field names', async () => {
    const cases = [
      ['tracker', join(CONF_DIR, 'tracker.conf'), []],
      [
        'storage',
        join(CONF_DIR, 'storage.conf'),
        ['--set', 'store_path1=/tmp/sp1', '--set', 'store_path_count=2'],
      ],
      ['client', join(CONF_DIR, 'client.conf'), []],
      [
        'http',
        join(CONF_DIR, 'http.conf'),
        [
          '--set',
          `http.jwt.previous_secret=old:${'p'.repeat(32)}`,
          '--set',
          `http.auth.api_key=${'k'.repeat(16)}`,
        ],
      ],
    ] as const;
    for (const [role, file, extra] of cases) {
      const r = await fdfs(['check', file, ...extra]);
      expect(r.code, file).toBe(0);
      const keys = r.out
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.slice(0, l.indexOf(' = ')));
      expect(keys.length, file).toBeGreaterThan(5);
      for (const key of keys) expect(keysOf(role).has(key), `${role}: ${key}`).toBe(true);
    }
    const storage = (
      await fdfs([
        'check',
        join(CONF_DIR, 'storage.conf'),
        '--set',
        'store_path1=/tmp/sp1',
        '--set',
        'store_path_count=2',
      ])
    ).out;
    expect(storage).toMatch(/\nstore_path0 = \S+\nstore_path1 = \/tmp\/sp1\n/);
    expect(storage).toContain('\nheart_beat_interval = 30000\n');
    const http = (
      await fdfs(['check', join(CONF_DIR, 'http.conf'), '--set', `http.auth.api_key=${'k'.repeat(16)}`])
    ).out;
    expect(http).toContain('\nhttp.anti_steal.check_token = false\n');
    expect(http).toContain('\nhttp.auth.api_key = [redacted]\n');
    expect(http).toContain('\nhttp.server_port = 8080\n');
  });

  it('never prints secrets', async () => {
    const secret = 'a-jwt-secret-of-at-least-32-characters!';
    const r = await fdfs(['check', join(CONF_DIR, 'http.conf'), '--set', `http.jwt.secret=${secret}`]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('jwt.secret = [redacted]');
    expect(r.out).not.toContain(secret);
    const json = await fdfs([
      'check',
      join(CONF_DIR, 'http.conf'),
      '--set',
      `http.jwt.secret=${secret}`,
      '--json',
    ]);
    expect(json.out).not.toContain(secret);
    expect(JSON.parse(json.out).config.jwt.secret).toBe('[redacted]');
    // The password inside a namespace URL, too.
    const url = await fdfs([
      'check',
      join(CONF_DIR, 'http.conf'),
      '--set',
      's3.namespace=postgres://fdfs:pg-pass-123@db.example:5432/fdfs',
    ]);
    expect(url.code).toBe(0);
    expect(url.out).toContain('\ns3.namespace = postgres://fdfs:[redacted]@db.example:5432/fdfs\n');
    expect(url.out).not.toContain('pg-pass-123');
  });

  it('rejects a bad value naming where it came from, and says when it cannot tell or validate', async () => {
    const bad = await fdfs(['check', join(CONF_DIR, 'storage.conf'), '--set', 'port=abc']);
    expect(bad.code).toBe(22);
    expect(bad.stderr).toContain('port');
    // --role wins over the guess; keys the forced role does not know are warnings.
    const forced = JSON.parse((await fdfs(['check', conf, '--role', 'tracker', '--json'])).out);
    expect(forced.role).toBe('tracker');
    expect(forced.warnings.join('\n')).toContain('tracker_server');
    expect((await fdfs(['check', conf, '--role', 'gateway'])).code).toBe(22);
    // A stock FastDFS http.conf alone lacks what the gateway needs to reach the cluster.
    const http = await fdfs(['check', join(FIXTURES, 'stock-http.conf')]);
    expect(http.code).toBe(22);
    expect(http.stderr).toContain('base_path');
    const empty = join(dir, 'empty.conf');
    await writeFile(empty, '# nothing\n');
    expect((await fdfs(['check', empty])).stderr).toContain('--role');
  });
});

describe('help', () => {
  const verbs = [
    'upload',
    'upload-appender',
    'append',
    'download',
    'delete',
    'info',
    'meta',
    'monitor',
    'check',
  ];

  it('fdfs --help lists every verb with its options and examples', async () => {
    const r = await fdfs(['--help']);
    expect(r.code).toBe(0);
    for (const v of verbs) expect(r.out).toContain(`fdfs ${v} `);
    for (const a of ['fdfs_upload_file', 'fdfs_download_file', 'fdfs_monitor']) expect(r.out).toContain(a);
  });

  it('fdfs <verb> --help explains the options with an example and exits 0', async () => {
    const results = await Promise.all(verbs.map((v) => fdfs([v, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, verbs[i]).toBe(0);
      expect(r.out).toMatch(/Examples?:/);
      expect(r.out).toContain('--json');
      expect(r.out).toContain('--set key=value');
    });
  });
});
