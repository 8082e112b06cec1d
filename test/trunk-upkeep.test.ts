/**
 * The trunk server's upkeep, piece by piece: FastDFS' schedule arithmetic for its tasks, the
 * trunk binlog's lazy appends, backups and compression at a save
 * (trunk_compress_binlog_min_interval). The tasks end to end: trunk-write (files ahead of need),
 * trunk-compress (compression in a group), trunk-crash (kill -9 during compressions).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/common/index.js';
import { defaultStorageConfig, trunkConfigFromParameters } from '../src/config/index.js';
import { StorePaths } from '../src/storage/store-paths.js';
import {
  nextRunAt,
  TrunkBinlog,
  TrunkServer,
  type TrunkSlot,
  TrunkUpkeep,
  trunkDataPath,
} from '../src/storage/trunk/index.js';
import { tempDir } from './helpers/node-process.js';
import { TRUNK_TRACKER_KEYS } from './helpers/trunk-store.js';

const slot = (offset: number, size: number): TrunkSlot => ({
  storePathIndex: 0,
  subdirHigh: 0,
  subdirLow: 0,
  id: 1,
  offset,
  size,
});
const paramsWith = (keys: Record<string, string>) =>
  trunkConfigFromParameters(
    Object.entries({ ...TRUNK_TRACKER_KEYS, ...keys })
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );

describe("the trunk server's schedule (time base and interval)", () => {
  // Local times, as the time base is (libfastcommon's sched_make_first_call_time).
  const at = (d: number, h: number, m: number, sec = 0) => new Date(2026, 11, d, h, m, sec).getTime();
  const H = 3600_000;

  it('runs on the grid of intervals from the time base, today or yesterday', () => {
    expect(nextRunAt(at(7, 10, 0, 30), '02:00', 24 * H)).toBe(at(8, 2, 0));
    expect(nextRunAt(at(7, 1, 0), '02:00', 24 * H)).toBe(at(7, 2, 0));
    expect(nextRunAt(at(7, 1, 0), '02:00', H)).toBe(at(7, 2, 0)); // from yesterday's 02:00, 23 h on
    expect(nextRunAt(at(7, 1, 30), '02:00', H)).toBe(at(7, 2, 0));
    expect(nextRunAt(at(7, 10, 0, 30), '00:00', 60_000)).toBe(at(7, 10, 1));
    expect(nextRunAt(at(7, 23, 59, 59), '23:59', 7 * 24 * H)).toBe(at(14, 23, 59));
  });

  it('runs at once at the time base itself, then an interval on', () => {
    expect(nextRunAt(at(7, 2, 0), '02:00', 24 * H)).toBe(at(7, 2, 0));
    expect(nextRunAt(at(7, 2, 0) + 1, '02:00', 24 * H)).toBe(at(8, 2, 0));
  });
});

describe('trunk binlog appends', () => {
  const line = (op: 'A' | 'D', offset: number) => ({ ts: 1, op, slot: slot(offset, 256) });
  const lines = async (path: string) => (await readFile(path, 'latin1')).split('\n').filter(Boolean);

  it('write records nobody waits for with the next one somebody waits for, in order', async () => {
    const dir = await tempDir('fdfs-trunk-lazy-');
    const binlog = new TrunkBinlog(join(dir, 'binlog'), true);
    await binlog.open();
    const written: string[] = [];
    const first = binlog.append([line('D', 0)], false).then(() => written.push('first'));
    await new Promise((r) => setImmediate(r));
    const second = binlog.append([line('A', 256)], false).then(() => written.push('second'));
    await binlog.append([line('D', 512)]);
    written.push('awaited');
    await Promise.all([first, second]);
    expect(written).toEqual(['first', 'second', 'awaited']);
    expect(await lines(binlog.path)).toEqual([
      '1 D 0 0 0 1 0 256',
      '1 A 0 0 0 1 256 256',
      '1 D 0 0 0 1 512 256',
    ]);
    await binlog.close();
  });

  it('write a record nobody waits for on its own after a short wait', async () => {
    const dir = await tempDir('fdfs-trunk-lazy-');
    const binlog = new TrunkBinlog(join(dir, 'binlog'), true);
    await binlog.open();
    await binlog.append([line('A', 0)], false);
    expect(await lines(binlog.path)).toEqual(['1 A 0 0 0 1 0 256']);
    expect(binlog.size).toBe(18);
    await binlog.close();
  });

  it('keep the copy a truncation replaces as a dated backup, the newest trunk_binlog_max_backups', async () => {
    const dir = await tempDir('fdfs-trunk-backups-');
    const binlog = new TrunkBinlog(join(dir, 'binlog'), true);
    await binlog.open();
    await writeFile(join(dir, 'binlog.20260101000000'), 'oldest\n');
    await writeFile(join(dir, 'binlog.20260102000000'), 'older\n');
    await writeFile(join(dir, 'binlog.2026'), 'not a backup\n');
    await binlog.append([line('A', 0), line('D', 0)]);
    const copy = await readFile(binlog.path, 'latin1');
    await binlog.truncate(2);
    expect(binlog.size).toBe(0);
    expect(await readFile(binlog.path, 'latin1')).toBe('');
    const names = (await readdir(dir)).sort();
    const fresh = names.find((n) => /^binlog\.\d{14}$/.test(n) && n > 'binlog.20260102000000');
    expect(names).toEqual(['binlog', 'binlog.2026', 'binlog.20260102000000', fresh]);
    expect(await readFile(join(dir, fresh as string), 'latin1')).toBe(copy);
    // Appends go to the new, empty file; without backups a truncation just empties it.
    await binlog.append([line('A', 256)]);
    expect(await lines(binlog.path)).toEqual(['1 A 0 0 0 1 256 256']);
    await binlog.truncate();
    expect(await readFile(binlog.path, 'latin1')).toBe('');
    expect((await readdir(dir)).length).toBe(names.length);
    await binlog.close();
  });

  it('are all on file when settled() or close() returns', async () => {
    const dir = await tempDir('fdfs-trunk-lazy-');
    const binlog = new TrunkBinlog(join(dir, 'binlog'), false);
    await binlog.open();
    void binlog.append([line('A', 0)], false);
    await binlog.settled();
    expect(await lines(binlog.path)).toHaveLength(1);
    void binlog.append([line('D', 0)], false);
    await binlog.close();
    expect(await lines(binlog.path)).toEqual(['1 A 0 0 0 1 0 256', '1 D 0 0 0 1 0 256']);
  });
});

describe('trunk_compress_binlog_min_interval', () => {
  it('compresses at a save once up an hour and that long after the last, and records when', async () => {
    const base = await tempDir('fdfs-trunk-min-interval-');
    const binlog = new TrunkBinlog(join(base, 'data', 'trunk', 'binlog'), false);
    await binlog.open();
    const params = paramsWith({ trunk_compress_binlog_min_interval: '86400' });
    const server = await TrunkServer.start({
      params,
      storeRoots: [base],
      binlog,
      dataPath: trunkDataPath(base),
      durable: false,
      logger: silentLogger,
      nextId: async () => 1,
      subdirsFor: () => ({ high: 0, low: 0 }),
    });
    const flag = new Map<string, string>();
    let clock = Date.UTC(2026, 11, 7, 12);
    const upkeep = new TrunkUpkeep({
      config: defaultStorageConfig(new Map([['base_path', [base]]])).config,
      paths: new StorePaths([base], { kind: 'bytes', bytes: 0 }),
      binlog,
      logger: silentLogger,
      params: () => params,
      server: () => server,
      inLine: (task) => task(),
      flag: () => ({ get: (k) => flag.get(k), set: async (k, v) => void flag.set(k, v) }),
      now: () => clock,
    });
    const held = await server.alloc(1000, 0);
    await server.confirm(held, 0);
    const records = () => readFile(binlog.path, 'latin1');
    expect(await records()).toMatch(/ D /);

    // Up less than an hour: a plain save.
    expect(await upkeep.compressOnSave(server)).toBe(false);
    clock += 3600_000;
    expect(await upkeep.compressOnSave(server)).toBe(true);
    expect(await records()).not.toMatch(/ D /);
    expect(flag.get('trunk_last_compress_time')).toBe(String(clock / 1000));
    // storage_trunk.dat saved on the new binlog.
    expect((await readFile(trunkDataPath(base), 'latin1')).split('\n')[0]).toBe(String(binlog.size));

    // A day must pass before the next; then it runs again.
    await server.confirm(await server.alloc(500, 0), 0);
    clock += 86_399_000;
    expect(await upkeep.compressOnSave(server)).toBe(false);
    clock += 2000;
    expect(await upkeep.compressOnSave(server)).toBe(true);
    expect(await records()).not.toMatch(/ D /);

    // With a compression schedule (trunk_compress_binlog_interval) a save never compresses.
    const scheduled = paramsWith({
      trunk_compress_binlog_min_interval: '1',
      trunk_compress_binlog_interval: '60',
    });
    const other = new TrunkUpkeep({
      config: defaultStorageConfig(new Map([['base_path', [base]]])).config,
      paths: new StorePaths([base], { kind: 'bytes', bytes: 0 }),
      binlog,
      logger: silentLogger,
      params: () => scheduled,
      server: () => server,
      inLine: (task) => task(),
      flag: () => ({ get: () => undefined, set: async () => {} }),
      now: () => clock,
    });
    clock += 7200_000; // up two hours, never compressed
    await server.confirm(await server.alloc(500, 0), 0);
    expect(await other.compressOnSave(server)).toBe(false);
    await other.close();
    await upkeep.close();
    await binlog.close();
  });
});
