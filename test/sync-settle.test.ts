/**
 * Issue 8, point 13, with the stock heart_beat_interval (30 s) and stat_report_interval (60 s):
 * a second storage joining a group turns ACTIVE, and a restarted storage's sync state reaches
 * the tracker, without waiting for beats. Both are watched as state on the tracker (status,
 * sync matrix) within a bounded poll of 25 s — shorter than one 30 s beat, which the old path
 * needed at least once (about 63 s to ACTIVE, about 40 s of stale lag).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { type Proc, removeDirs, startStorageProc, startTrackerProc, storedFiles } from './helpers/cluster.js';
import { eventually } from './helpers/node-process.js';

const GROUP = 'group1';
/** Bounded poll: far below the old ~40–63 s, and below a single 30 s beat. */
const SETTLE_MS = 25_000;
const STOCK_BEATS = ['heart_beat_interval=30s', 'stat_report_interval=60s'];

const procs: Proc[] = [];
let tracker: Proc;
let a: Proc;
let b: Proc;
let client: FdfsClient;

const trackers = () => [{ host: tracker.host, port: tracker.port }];

async function statusOf(ip: string): Promise<number | undefined> {
  return (await client.listStorages(GROUP).catch(() => [])).find((s) => s.ip === ip)?.status;
}

/** Unix seconds up to which `dest` holds `source`'s files, as the tracker's matrix says. */
async function syncedUntil(dest: string, source: string): Promise<number> {
  const rows = (await client.syncStatus(GROUP)) ?? [];
  return rows.find((r) => r.dest === dest && r.source === source)?.syncedUntil ?? 0;
}

beforeAll(async () => {
  // Storages are only marked OFFLINE after 120 s without a beat, as stock.
  tracker = await startTrackerProc({ sets: ['check_active_interval=120'] });
  procs.push(tracker);
  client = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${tracker.host}:${tracker.port}`]]])).config,
  );
  a = await startStorageProc({ host: '127.0.0.2', group: GROUP, trackers: trackers(), sets: STOCK_BEATS });
  procs.push(a);
  // Alone in its group: nothing to copy, ACTIVE at its first beat (right after the join).
  await eventually(async () => expect(await statusOf(a.host)).toBe(StorageStatus.ACTIVE), SETTLE_MS, 100);
}, 60_000);

afterAll(async () => {
  await client?.close();
  for (const p of procs.reverse()) await p.stop();
  await removeDirs(procs.map((p) => p.base));
});

describe('sync settles without waiting for heartbeats', () => {
  it('a second storage turns ACTIVE within the bounded poll, holding the group’s file', async () => {
    const content = randomBytes(4000);
    const id = await client.upload(content, { ext: 'bin' });
    b = await startStorageProc({ host: '127.0.0.3', group: GROUP, trackers: trackers(), sets: STOCK_BEATS });
    procs.push(b);
    await eventually(async () => expect(await statusOf(b.host)).toBe(StorageStatus.ACTIVE), SETTLE_MS, 100);
    // ACTIVE means it holds the group's data: the file uploaded before it joined is there.
    expect(await storedFiles(b.base)).toEqual(await storedFiles(a.base));
    expect((await storedFiles(b.base)).size).toBe(1);
    expect((await client.downloadBuffer(id)).equals(content)).toBe(true);
  }, 60_000);

  it('after a restart the tracker hears how far the storage holds its peer within the bounded poll', async () => {
    await b.stop();
    const old = await syncedUntil(b.host, a.host);
    await client.upload(randomBytes(1000), { ext: 'bin' });
    const uploaded = Math.floor(Date.now() / 1000);
    b = await startStorageProc({
      host: '127.0.0.3',
      group: GROUP,
      trackers: trackers(),
      base: b.base,
      sets: STOCK_BEATS,
    });
    procs.push(b);
    await eventually(
      async () => {
        expect(await statusOf(b.host)).toBe(StorageStatus.ACTIVE);
        // Newer than before the restart, and past the upload made while it was down (less the
        // 2 s WATERMARK_MARGIN_S a watermark keeps behind what was pushed).
        const now = await syncedUntil(b.host, a.host);
        expect(now).toBeGreaterThan(old);
        expect(now).toBeGreaterThanOrEqual(uploaded - 2);
      },
      SETTLE_MS,
      100,
    );
    expect(await storedFiles(b.base)).toEqual(await storedFiles(a.base));
  }, 60_000);
});
