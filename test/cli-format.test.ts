/** Pure pieces of the CLI: sync lag, role detection, progress bar, alias arguments, error lines. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { aliasArgs } from '../src/cli/alias.js';
import { detectRole } from '../src/cli/check.js';
import { formatDelay, type GroupReport, monitorText, peerLine, syncLag } from '../src/cli/monitor-format.js';
import { errorLine, exitStatusOf, formatDatetime, humanBytes } from '../src/cli/output.js';
import { ProgressMeter, renderProgress, wantsProgress } from '../src/cli/progress.js';
import { peerSync, worstPeer } from '../src/client/index.js';
import { FdfsError, Status } from '../src/common/index.js';
import type { StorageStat } from '../src/protocol/index.js';
import { storageStat } from './helpers/fixtures.js';

function storage(lastSourceUpdate: number, lastSyncedTimestamp: number): StorageStat {
  return storageStat({
    id: 'x',
    joinTime: 0,
    upTime: 0,
    totalMb: 0,
    freeMb: 0,
    counters: { lastSourceUpdate, lastSyncedTimestamp },
  });
}

describe('sync lag (fdfs_monitor "synced delay")', () => {
  it('is measured against the newest source update of the other storages', () => {
    const a = storage(1000, 900);
    const b = storage(1300, 950);
    const c = storage(0, 0);
    expect(syncLag(a, [a, b, c])).toEqual({ seconds: 400, neverSynced: false, text: '(06m:40s delay)' });
    expect(syncLag(b, [a, b, c])).toEqual({ seconds: 50, neverSynced: false, text: '(50s delay)' });
    expect(syncLag(c, [a, b, c])).toEqual({ seconds: null, neverSynced: true, text: '(never synced)' });
  });

  it('is empty when no peer has written anything, and never negative', () => {
    const lone = storage(500, 0);
    expect(syncLag(lone, [lone]).text).toBe('');
    const ahead = storage(0, 2000);
    expect(syncLag(ahead, [ahead, storage(1000, 0)]).seconds).toBe(0);
  });

  it.each([
    [0, '0s'],
    [59, '59s'],
    [100, '01m:40s'],
    [3700, '01h:01m:40s'],
    [2 * 86400 + 5, '2 days 00h:00m:05s'],
  ])('formats %i seconds as %s', (s, text) => {
    expect(formatDelay(s)).toBe(text);
  });
});

describe('per-peer sync lag (tracker command 121)', () => {
  const at = (id: string, ip: string, lastSourceUpdate: number) => ({
    ...storage(lastSourceUpdate, 0),
    id,
    ip,
  });
  // A: uploads until 1000; B: until 1300; C: has written nothing.
  const group = [at('A', '10.0.0.1', 1000), at('B', '10.0.0.2', 1300), at('C', '10.0.0.3', 0)];
  const rows = [
    { dest: 'A', source: 'B', syncedUntil: 1297 },
    { dest: 'A', source: 'C', syncedUntil: 0 },
    { dest: 'B', source: 'A', syncedUntil: 1005 },
    { dest: 'C', source: 'A', syncedUntil: 0 },
    { dest: 'C', source: 'B', syncedUntil: 1200 },
  ];

  it.each([
    [
      'A',
      [
        { source: 'B', syncedUntil: 1297, lag: 3, neverSynced: false },
        { source: 'C', syncedUntil: 0, lag: null, neverSynced: false },
      ],
      'B',
    ],
    ['B', [{ source: 'A', syncedUntil: 1005, lag: 0, neverSynced: false }], 'A'],
    [
      'C',
      [
        { source: 'A', syncedUntil: 0, lag: null, neverSynced: true },
        { source: 'B', syncedUntil: 1200, lag: 100, neverSynced: false },
      ],
      'A',
    ],
  ])(
    "%s: lag = the source's last upload minus synced-until; a never-synced peer is the worst",
    (dest, want, worst) => {
      const peers = peerSync(dest, rows, group);
      expect(peers).toEqual(want);
      expect(worstPeer(peers)?.source).toBe(worst);
    },
  );

  it.each([
    [
      { source: 'B', syncedUntil: 1297, lag: 3, neverSynced: false },
      `synced from B (10.0.0.2) until ${formatDatetime(1297)} (delay 3s)`,
    ],
    [
      { source: '10.0.0.1', syncedUntil: 1005, lag: 0, neverSynced: false },
      `synced from 10.0.0.1 until ${formatDatetime(1005)} (delay 0s)`,
    ],
    [
      { source: 'A', syncedUntil: 0, lag: null, neverSynced: true },
      'synced from A (10.0.0.1) until - (never synced)',
    ],
    [
      { source: 'C', syncedUntil: 0, lag: null, neverSynced: false },
      'synced from C (10.0.0.3) until - (nothing to sync)',
    ],
  ])('prints %j as a monitor line', (peer, line) => {
    const withIds = [...group, at('10.0.0.1', '10.0.0.1', 0)];
    expect(peerLine(peer, withIds)).toBe(line);
  });

  it('goes under each storage when the tracker gave the matrix, and is left out when it did not', () => {
    const [a, b] = group as [StorageStat, StorageStat];
    const g = { groupName: 'group1', currentTrunkFileId: -1 } as GroupReport['group'];
    const tracker = { index: 0, count: 1, address: '10.0.0.9:22122' };
    const ab = rows.filter((r) => r.dest !== 'C' && r.source !== 'C');
    const ours = monitorText(tracker, [{ group: g, storages: [a, b], syncStatus: ab }], true);
    const lines = ours.split('\n').map((l) => l.trim());
    expect(lines.filter((l) => l.startsWith('synced from'))).toEqual([
      `synced from B (10.0.0.2) until ${formatDatetime(1297)} (delay 3s)`,
      `synced from A (10.0.0.1) until ${formatDatetime(1005)} (delay 0s)`,
    ]);
    // B's peer line comes under B, not under A.
    expect(
      lines.indexOf(`synced from A (10.0.0.1) until ${formatDatetime(1005)} (delay 0s)`),
    ).toBeGreaterThan(lines.indexOf('id = B'));
    const stock = monitorText(tracker, [{ group: g, storages: [a, b] }], true);
    expect(stock).not.toContain('synced from');
    // The leader (cmd 95) under the tracker's line when it is known, nothing when not.
    expect(stock).not.toContain('leader');
    const led = monitorText({ ...tracker, leader: '10.0.0.8:22122' }, [{ group: g, storages: [a, b] }], true);
    expect(led.split('\n').slice(2, 5)).toEqual([
      'tracker server is 10.0.0.9:22122',
      'tracker leader is 10.0.0.8:22122',
      '',
    ]);
  });
});

describe('fdfs check role detection', () => {
  it.each([
    [['group_name', 'store_path0', 'tracker_server', 'port'], 'storage'],
    [['store_lookup', 'port', 'base_path', 'reserved_storage_space'], 'tracker'],
    [['tracker_server', 'base_path', 'connect_timeout'], 'client'],
    [['http.default_content_type', 'http.anti_steal.check_token'], 'http'],
    [['tracker_server', 'base_path', 'http.server_port', 'http.jwt.secret'], 'http'],
    [['tracker_server', 'base_path', 'http.anti_steal.secret_key'], 'client'],
    [['tracker_server', 'use_storage_id', 'storage_ids_filename'], 'client'],
    [['base_path'], undefined],
    [[], undefined],
  ] as const)('%j → %s', (keys, role) => {
    expect(detectRole(keys)).toBe(role);
  });
});

describe('progress bar', () => {
  it('renders a bar, a percentage, sizes and a rate', () => {
    const line = renderProgress('f.iso', 5 * 1024 * 1024, 10 * 1024 * 1024, 1000);
    expect(line).toContain('f.iso [===========>');
    expect(line).toContain(' 50% 5.00 MB / 10.00 MB  5.00 MB/s');
    expect(renderProgress('x', 2048, undefined, 0)).toBe('x 2.00 KB');
  });

  it('is drawn only on a terminal and only for transfers of a few MB', () => {
    expect(wantsProgress({ isTTY: true, write: () => true }, 10 * 1024 * 1024)).toBe(true);
    expect(wantsProgress({ isTTY: true, write: () => true }, 1024)).toBe(false);
    expect(wantsProgress({ isTTY: false, write: () => true }, 10 * 1024 * 1024)).toBe(false);
    expect(wantsProgress({ write: () => true }, undefined)).toBe(false);
  });

  it('passes every byte through, counts them, and ends its line', async () => {
    const drawn: string[] = [];
    let t = 0;
    const meter = new ProgressMeter(
      { isTTY: true, columns: 100, write: (s: string) => drawn.push(s) },
      { label: 'big', total: 8 * 1024 * 1024, now: () => (t += 200) },
    );
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(1024 * 1024, 7));
    let got = 0;
    await pipeline(
      Readable.from(chunks),
      meter,
      new Writable({
        write(c: Buffer, _e, cb) {
          got += c.length;
          cb();
        },
      }),
    );
    expect(got).toBe(8 * 1024 * 1024);
    expect(meter.done).toBe(got);
    expect(drawn.length).toBeGreaterThan(2);
    expect(drawn.at(-2)).toContain('100%');
    expect(drawn.at(-1)).toBe('\n');
  });

  it('stays silent when stderr is not a terminal', async () => {
    const drawn: string[] = [];
    const meter = new ProgressMeter(
      { isTTY: false, write: (s: string) => drawn.push(s) },
      { label: 'x', total: 1e9 },
    );
    await pipeline(Readable.from([Buffer.alloc(10)]), meter, new Writable({ write: (_c, _e, cb) => cb() }));
    expect(drawn).toEqual([]);
  });
});

describe('alias arguments', () => {
  it('turns fdfs_monitor -h <tracker> and -h<tracker> into --tracker', () => {
    expect(aliasArgs('fdfs_monitor', ['c.conf', '-h', '10.0.0.1:22122', 'list'])).toEqual([
      'c.conf',
      '--tracker',
      '10.0.0.1:22122',
      'list',
    ]);
    expect(aliasArgs('fdfs_monitor', ['c.conf', '-h10.0.0.1'])).toEqual(['c.conf', '--tracker', '10.0.0.1']);
    expect(aliasArgs('fdfs_monitor', ['-h'])).toEqual(['-h']);
    expect(aliasArgs('fdfs_upload_file', ['c.conf', 'f', '-h'])).toEqual(['c.conf', 'f', '-h']);
  });
});

describe('error line and exit status', () => {
  it('names the subject once and ends with the errno', () => {
    const err = new FdfsError(
      Status.ENOENT,
      'delete group1/M00/x on 127.0.0.1:23000: ENOENT (file not found)',
    );
    expect(errorLine('fdfs delete', err, 'group1/M00/x')).toBe(
      'fdfs delete: delete group1/M00/x on 127.0.0.1:23000: ENOENT (file not found) (errno 2)',
    );
    expect(errorLine('fdfs upload', new FdfsError(Status.ECONNREFUSED, 'no tracker'), 'a.txt')).toBe(
      'fdfs upload a.txt: no tracker (ECONNREFUSED, errno 111)',
    );
    expect(exitStatusOf(new Error('boom'))).toBe(Status.EIO);
    expect(humanBytes(1536)).toBe('1.50 KB');
  });
});
