/**
 * FastDFS' own tool names (fdfs_upload_file, …), built as entry files and listed in package.json
 * "bin", run with FastDFS' argument order against a running `fdfs start`.
 */
import { randomBytes } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alias, writeClientConf } from './helpers/cli.js';
import { eventually, type RunningNode, startNode, tempDir } from './helpers/node-process.js';
import { deadAddress } from './helpers/raw-peer.js';

const ROOT = resolve(import.meta.dirname, '..');
const ALIASES = [
  'fdfs_upload_file',
  'fdfs_download_file',
  'fdfs_delete_file',
  'fdfs_file_info',
  'fdfs_monitor',
  'fdfs_append_file',
  'fdfs_upload_appender',
];

let node: RunningNode;
let dir: string;
let conf: string;

beforeAll(async () => {
  node = await startNode();
  dir = await tempDir('fdfs-alias-');
  conf = await writeClientConf(dir, node.tracker);
  await eventually(async () => {
    const r = await alias('fdfs_monitor', [conf]);
    if (!r.out.includes('ACTIVE')) throw new Error('storage not active yet');
  });
}, 30_000);

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
});

describe('FastDFS tool names', () => {
  it('are package.json bins pointing at built entry files with a shebang', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    for (const name of ALIASES) {
      const target = pkg.bin[name];
      expect(target, name).toBe(`dist/src/cli/aliases/${name.replaceAll('_', '-')}.js`);
      expect((await readFile(join(ROOT, target), 'utf8')).startsWith('#!/usr/bin/env node')).toBe(true);
    }
  });

  it('fdfs_upload_file, fdfs_file_info, fdfs_download_file, fdfs_delete_file in FastDFS order', async () => {
    const data = randomBytes(120_000);
    const local = join(dir, 'pic.png');
    await writeFile(local, data);
    const up = await alias('fdfs_upload_file', [conf, local]);
    expect(up.code).toBe(0);
    const id = up.out.trim();
    expect(id).toMatch(/^group1\/M00\/.*\.png$/);

    const info = await alias('fdfs_file_info', [conf, id]);
    const crc = crc32(data) >>> 0;
    expect(info.out).toContain(`file size: ${data.length}`);
    expect(info.out).toContain(`(0x${crc.toString(16).padStart(8, '0')})`);
    // fdfs_file_info's own options come before the conf: -n (no crc of 0) and -s (silent).
    expect((await alias('fdfs_file_info', ['-n', '-s', conf, id])).code).toBe(0);

    const whole = join(dir, 'pic.out.png');
    expect((await alias('fdfs_download_file', [conf, id, whole])).code).toBe(0);
    expect((await readFile(whole)).equals(data)).toBe(true);
    // <local_filename> <download_offset> <download_bytes>
    const part = join(dir, 'pic.part');
    expect((await alias('fdfs_download_file', [conf, id, part, '100', '50'])).code).toBe(0);
    expect((await readFile(part)).equals(data.subarray(100, 150))).toBe(true);
    // Without a local name the file lands in the cwd under the id's last part.
    expect((await alias('fdfs_download_file', [conf, id], dir)).code).toBe(0);
    await access(join(dir, id.slice(id.lastIndexOf('/') + 1)));

    expect(await alias('fdfs_delete_file', [conf, id])).toMatchObject({ code: 0, out: '', stderr: '' });
    const again = await alias('fdfs_delete_file', [conf, id]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^fdfs_delete_file: .*ENOENT/);
    expect(again.stderr).toContain(id);
  });

  it('fdfs_upload_file <conf> <local_filename> <storage_ip:port> <store_path_index>', async () => {
    const local = join(dir, 'direct.txt');
    await writeFile(local, 'direct');
    const r = await alias('fdfs_upload_file', [
      conf,
      local,
      `${node.storage.host}:${node.storage.port}`,
      '0',
    ]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^group1\/M00\//);
  });

  it('fdfs_upload_appender then fdfs_append_file <conf> <appender_file_id> <local_filename>', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    await writeFile(a, 'line one\n');
    await writeFile(b, 'line two\n');
    const up = await alias('fdfs_upload_appender', [conf, a]);
    expect(up.code).toBe(0);
    const id = up.out.trim();
    expect((await alias('fdfs_append_file', [conf, id, b])).code).toBe(0);
    const out = join(dir, 'ab.log');
    expect((await alias('fdfs_download_file', [conf, id, out])).code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe('line one\nline two\n');
    expect((await alias('fdfs_file_info', [conf, id])).out).toContain('file type: appender');
  });

  it('fdfs_monitor <conf> [-h tracker] [list [group]]', async () => {
    const tracker = `${node.tracker.host}:${node.tracker.port}`;
    for (const args of [[conf], [conf, 'list'], [conf, '-h', tracker, 'list'], [conf, `-h${tracker}`]]) {
      const r = await alias('fdfs_monitor', args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out).toContain(`tracker server is ${tracker}`);
      expect(r.out).toContain('group name = group1');
      expect(r.out).toMatch(/ip_addr = \S+ {2}ACTIVE/);
    }
    const one = await alias('fdfs_monitor', [conf, 'list', 'group1']);
    expect(one.out).not.toContain('group count');
  });

  it('exit with the errno and one stderr line: unreachable tracker, missing arguments', async () => {
    const down = await deadAddress();
    const dead = await writeClientConf(await tempDir('fdfs-alias-dead-'), down);
    const local = join(dir, 'a.log');
    const id = 'group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
    const cases = [
      ['fdfs_upload_file', [dead, local]],
      ['fdfs_download_file', [dead, id, join(dir, 'never')]],
      ['fdfs_delete_file', [dead, id]],
      ['fdfs_monitor', [dead]],
    ] as const;
    const results = await Promise.all(cases.map(([name, args]) => alias(name, args)));
    for (const [i, r] of results.entries()) {
      const name = cases[i]?.[0] ?? '';
      expect(r.code, name).toBe(111);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`${name}`);
      expect(r.stderr).toContain(`${down.host}:${down.port}`);
    }
    const bare = await Promise.all(ALIASES.map((name) => alias(name, [])));
    const help = await Promise.all(ALIASES.map((name) => alias(name, ['--help'])));
    ALIASES.forEach((name, i) => {
      expect(bare[i]?.code, name).toBe(22);
      expect(bare[i]?.stderr).toContain(`${name} --help`);
      expect(help[i]?.code, name).toBe(0);
    });
  });
});
