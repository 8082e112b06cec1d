/**
 * The tracker's side of replication: a newcomer's WAIT_SYNC → SYNCING → ONLINE → ACTIVE path
 * (87/88/86/76), the per-source sync matrix behind the fetch rule, storage ids and the advertise
 * extension at join. Model tests feed calls with a fake clock; service tests speak the wire.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../src/client/index.js';
import { silentLogger } from '../src/common/index.js';
import type { TrackerConfig } from '../src/config/types.js';
import {
  Cmd,
  decodeJoinReply,
  decodeStorageIdsReply,
  decodeStorageStats,
  decodeSyncSource,
  decodeSyncStatus,
  encodeJoin,
  encodeStatusReport,
  encodeSyncReport,
  encodeSyncSource,
  encodeSyncSrcQuery,
  encodeSyncStatusQuery,
  fixedString,
  JOIN_ADVERTISE_PREFIX,
  StorageStatus,
} from '../src/protocol/index.js';
import {
  Cluster,
  decodeState,
  encodeState,
  type JoinInput,
  recordSyncReport,
  reportStatus,
  restoreCluster,
  selectFetchAll,
  selectStore,
  snapshotCluster,
  startTracker,
  syncDestReq,
  syncMatrix,
  syncNotify,
  syncSrcQuery,
  type TrackerHandle,
} from '../src/tracker/index.js';
import { testTrackerConfig } from './helpers/fixtures.js';

const T0 = 1_700_000_000_000;

function rig() {
  let t = T0;
  const cluster = new Cluster({ checkActiveInterval: 10_000, storePath: 0, storeServer: 0 }, () => t);
  return { cluster, advance: (ms: number) => (t += ms), nowSec: () => Math.floor(t / 1000) };
}

function req(ip: string, over: Partial<JoinInput> = {}): JoinInput {
  return {
    group: 'group1',
    id: ip,
    ip,
    port: 23000,
    storePathCount: 1,
    subdirCountPerPath: 256,
    uploadPriority: 10,
    joinTime: 1_600_000_000,
    upTime: 1_600_000_000,
    version: '6.16',
    initFlag: 0,
    status: 0,
    ...over,
  };
}

function active(c: Cluster, ip: string): void {
  c.join(req(ip));
  c.reportDiskUsage('group1', ip, [{ totalMb: 100, freeMb: 50 }]);
  c.heartbeat('group1', ip);
}

const policy = {
  storeLookup: 0,
  storeGroup: '',
  storeServer: 0,
  storePath: 0,
  downloadServer: 0,
  reservedStorageSpace: { kind: 'bytes', bytes: 0 },
  storageSyncFileMaxDelay: 86_400_000,
  storageSyncFileMaxTime: 300_000,
} as const;

describe('a newcomer copies old data before it serves', () => {
  it('alone in its group it needs no source: ONLINE at join, ACTIVE at the first beat', () => {
    const { cluster } = rig();
    expect(cluster.join(req('10.0.0.1', { initFlag: 1 })).node.status).toBe(StorageStatus.ONLINE);
    const { group, node } = cluster.reporting('group1', '10.0.0.1');
    expect(syncDestReq(group, node, 1)).toBeUndefined();
  });

  it('INIT → WAIT_SYNC (87) → SYNCING → ONLINE (76) → ACTIVE, with no readers or writers before', () => {
    const { cluster, nowSec } = rig();
    active(cluster, '10.0.0.2');
    cluster.join(req('10.0.0.1', { status: StorageStatus.ONLINE }));
    active(cluster, '10.0.0.3');
    const { group, node } = cluster.join(req('10.0.0.9', { initFlag: 1 }));
    expect(node.status).toBe(StorageStatus.INIT);
    // ACTIVE sources first, lowest id: the same answer on every tracker asked.
    const src = syncDestReq(group, node, nowSec());
    expect(src).toEqual({ srcId: '10.0.0.2', until: nowSec() });
    expect(node.status).toBe(StorageStatus.WAIT_SYNC);
    expect(syncDestReq(group, node, nowSec() + 50)).toEqual(src);
    expect(syncSrcQuery(group, '10.0.0.9')).toEqual(src);
    expect(cluster.heartbeat('group1', '10.0.0.9')).toBe(false);
    const file = { source: { kind: 'ip', ip: '10.0.0.2' } as const, timestamp: 1, normal: true };
    expect(selectFetchAll(group, file, policy, T0).map((s) => s.id)).not.toContain('10.0.0.9');
    for (let i = 0; i < 4; i++)
      expect(selectStore(cluster, policy, { all: false }).servers[0]?.id).not.toBe('10.0.0.9');
    expect(reportStatus(node, StorageStatus.SYNCING)).toBe(true);
    expect(reportStatus(node, StorageStatus.SYNCING)).toBe(false);
    expect(reportStatus(node, StorageStatus.ONLINE)).toBe(true);
    expect(syncSrcQuery(group, '10.0.0.9')).toBeUndefined();
    expect(cluster.heartbeat('group1', '10.0.0.9')).toBe(true);
    expect(node.status).toBe(StorageStatus.ACTIVE);
    expect(() => reportStatus(node, StorageStatus.ACTIVE)).toThrow(expect.objectContaining({ status: 22 }));
  });

  it('without an ACTIVE peer an ONLINE one is the source; a copy in progress survives a rejoin', () => {
    const { cluster } = rig();
    cluster.join(req('10.0.0.5'));
    const { group, node } = cluster.join(req('10.0.0.9', { initFlag: 1 }));
    expect(syncDestReq(group, node, 7)?.srcId).toBe('10.0.0.5');
    cluster.disconnect('group1', '10.0.0.9');
    expect(cluster.join(req('10.0.0.9', { initFlag: 1 })).node.status).toBe(StorageStatus.WAIT_SYNC);
    // A stock storage joins with initFlag 0 as soon as it has a source, long before its copy is
    // done: the copy in progress stands until its source reports it (upstream keeps it too).
    expect(cluster.join(req('10.0.0.9')).node.status).toBe(StorageStatus.WAIT_SYNC);
    reportStatus(cluster.reporting('group1', '10.0.0.9').node, StorageStatus.OFFLINE);
    // A storage we know as serving that joins needing old data (a wiped disk) copies again.
    cluster.heartbeat('group1', '10.0.0.9');
    expect(cluster.reporting('group1', '10.0.0.9').node.status).toBe(StorageStatus.ACTIVE);
    expect(cluster.join(req('10.0.0.9', { initFlag: 1 })).node.status).toBe(StorageStatus.INIT);
  });

  it('88 carries an assignment made by another tracker (trackers share no store)', () => {
    const { cluster } = rig();
    const { node } = cluster.join(req('10.0.0.9', { initFlag: 1 }));
    expect(node.status).toBe(StorageStatus.ONLINE); // this tracker knows no peer yet
    syncNotify(node, { srcId: '10.0.0.2', until: 1234 });
    expect([node.status, node.syncSrcId, node.syncUntilTimestamp]).toEqual([
      StorageStatus.WAIT_SYNC,
      '10.0.0.2',
      1234,
    ]);
    node.status = StorageStatus.SYNCING;
    syncNotify(node, { srcId: '10.0.0.2', until: 1234 });
    expect(node.status).toBe(StorageStatus.SYNCING);
    // A stock storage names its old source at every connect, long after its copy: ignored once
    // it joined saying it holds its data (init_flag 0), as upstream ignores it past INIT.
    const back = cluster.join(req('10.0.0.9')).node;
    cluster.heartbeat('group1', '10.0.0.9');
    for (const status of [StorageStatus.ONLINE, StorageStatus.ACTIVE]) {
      back.status = status;
      syncNotify(back, { srcId: '10.0.0.7', until: 99 });
      expect([back.status, back.syncSrcId]).toEqual([status, '10.0.0.2']);
    }
  });

  it('the sync state survives a tracker restart; state files from before replication still load', () => {
    const { cluster } = rig();
    active(cluster, '10.0.0.2');
    const { group, node } = cluster.join(req('10.0.0.9', { initFlag: 1 }));
    syncDestReq(group, node, 99);
    recordSyncReport(
      group,
      cluster.reporting('group1', '10.0.0.2').node,
      [{ id: '10.0.0.9', timestamp: 55 }],
      0,
    );
    const snap = snapshotCluster(cluster);
    const back = rig().cluster;
    restoreCluster(back, decodeState(encodeState(snap)));
    const n = back.storage('group1', '10.0.0.9');
    expect([n?.status, n?.syncSrcId, n?.syncUntilTimestamp]).toEqual([
      StorageStatus.WAIT_SYNC,
      '10.0.0.2',
      99,
    ]);
    expect(back.storage('group1', '10.0.0.2')?.syncedFrom.get('10.0.0.9')).toBe(55);
    for (const g of snap.groups) {
      for (const s of g.storages) {
        delete s.syncedFrom;
        delete s.syncUntilTimestamp;
      }
    }
    const old = rig().cluster;
    restoreCluster(old, decodeState(encodeState(snap)));
    expect(old.storage('group1', '10.0.0.9')?.syncUntilTimestamp).toBe(0);
  });
});

describe('last synced timestamps (the fetch rule of §3.3)', () => {
  it('round robin takes the minimum over ACTIVE sources, one never heard from counting as 0', () => {
    const { cluster } = rig();
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) active(cluster, ip);
    cluster.reportSync('group1', '10.0.0.1', [{ id: '10.0.0.2', timestamp: 500 }]);
    expect(cluster.storage('group1', '10.0.0.1')?.lastSyncedTimestamp).toBe(0);
    cluster.reportSync('group1', '10.0.0.1', [{ id: '10.0.0.3', timestamp: 400 }]);
    expect(cluster.storage('group1', '10.0.0.1')?.lastSyncedTimestamp).toBe(400);
    // A source that is down no longer holds the others back.
    cluster.disconnect('group1', '10.0.0.3');
    cluster.reportSync('group1', '10.0.0.1', [{ id: '10.0.0.2', timestamp: 600 }]);
    expect(cluster.storage('group1', '10.0.0.1')?.counters.lastSyncedTimestamp).toBe(600);
  });
});

describe('the sync matrix (121)', () => {
  it('lists every ordered pair of live storages, 0 where nothing was reported', () => {
    const { cluster } = rig();
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) active(cluster, ip);
    cluster.reportSync('group1', '10.0.0.2', [
      { id: '10.0.0.1', timestamp: 700 },
      { id: '10.0.0.9', timestamp: 800 }, // not in the group: ignored
    ]);
    const g = cluster.group('group1');
    if (!g) throw new Error('no group1');
    expect(syncMatrix(g)).toEqual([
      { dest: '10.0.0.1', source: '10.0.0.2', syncedUntil: 0 },
      { dest: '10.0.0.1', source: '10.0.0.3', syncedUntil: 0 },
      { dest: '10.0.0.2', source: '10.0.0.1', syncedUntil: 700 },
      { dest: '10.0.0.2', source: '10.0.0.3', syncedUntil: 0 },
      { dest: '10.0.0.3', source: '10.0.0.1', syncedUntil: 0 },
      { dest: '10.0.0.3', source: '10.0.0.2', syncedUntil: 0 },
    ]);
    // A deleted storage is neither a dest nor a source any more.
    cluster.disconnect('group1', '10.0.0.1');
    cluster.deleteStorage('group1', '10.0.0.1');
    expect(syncMatrix(g).map((r) => `${r.dest}<-${r.source}`)).toEqual([
      '10.0.0.2<-10.0.0.3',
      '10.0.0.3<-10.0.0.2',
    ]);
  });
});

describe('tracker service: sync commands, storage ids, advertised address', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function tempBase(): Promise<string> {
    const base = await mkdtemp(join(tmpdir(), 'fdfs-tsync-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    return base;
  }

  function cfg(base: string, over: Partial<TrackerConfig> = {}): TrackerConfig {
    return testTrackerConfig(base, {
      connectTimeout: 2000,
      networkTimeout: 10_000,
      storageIdsFilename: join(base, 'storage_ids.conf'),
      ...over,
    });
  }

  async function start(over: Partial<TrackerConfig> = {}): Promise<TrackerHandle> {
    const config = cfg(await tempBase(), over);
    if (config.useStorageId) {
      await writeFile(config.storageIdsFilename, '100001 group1 127.0.0.1\n100002 group1 127.0.0.1:23002\n');
    }
    const t = await startTracker(config, { logger: silentLogger });
    cleanups.push(() => t.close());
    return t;
  }

  async function link(t: TrackerHandle, from?: string): Promise<Connection> {
    const c = await Connection.open({
      host: '127.0.0.1',
      port: t.address.port,
      connectTimeout: 2000,
      networkTimeout: 5000,
      ...(from ? { localAddress: from } : {}),
    });
    cleanups.push(async () => c.close());
    return c;
  }

  async function joinAs(
    c: Connection,
    over: { port?: number; storageId?: string; initFlag?: number; lines?: string[] } = {},
  ) {
    const body = encodeJoin({
      group: 'group1',
      storagePort: over.port ?? 23001,
      storePathCount: 1,
      subdirCountPerPath: 256,
      uploadPriority: 10,
      joinTime: 1_700_000_000,
      upTime: 1_700_000_000,
      version: '6.16',
      initFlag: over.initFlag ?? 0,
      status: 0,
      storageId: over.storageId ?? '',
      currentTrackerIp: '127.0.0.1',
      trackers: ['127.0.0.1:22122', ...(over.lines ?? [])],
    });
    return decodeJoinReply(await c.call(Cmd.STORAGE_JOIN, body));
  }

  async function list(c: Connection) {
    return decodeStorageStats(await c.call(Cmd.SERVER_LIST_STORAGE, fixedString('group1', 16)), 'current');
  }

  it('87 / 88 / 86 / 76 over the wire', async () => {
    const t = await start();
    const src = await link(t);
    await joinAs(src, { lines: [`${JOIN_ADVERTISE_PREFIX}127.0.0.2`] });
    await src.call(Cmd.STORAGE_BEAT);
    const dest = await link(t);
    expect((await joinAs(dest, { initFlag: 1 })).status).toBe(StorageStatus.INIT);
    const got = decodeSyncSource(await dest.call(Cmd.STORAGE_SYNC_DEST_REQ));
    expect(got?.srcId).toBe('127.0.0.2');
    const q = decodeSyncSource(
      await src.call(Cmd.STORAGE_SYNC_SRC_REQ, encodeSyncSrcQuery('group1', '127.0.0.1')),
    );
    expect(q).toEqual(got);
    await dest.call(Cmd.STORAGE_SYNC_NOTIFY, encodeSyncSource({ srcId: '127.0.0.2', until: 42 }));
    const report = { group: 'group1', port: 23001, id: '127.0.0.1', ip: '127.0.0.1' };
    await src.call(
      Cmd.STORAGE_REPORT_STATUS,
      encodeStatusReport({ ...report, status: StorageStatus.SYNCING }),
    );
    expect((await list(src)).map((s) => [s.id, s.status, s.srcId])).toEqual([
      ['127.0.0.1', StorageStatus.SYNCING, '127.0.0.2'],
      ['127.0.0.2', StorageStatus.ACTIVE, ''],
    ]);
    await src.call(
      Cmd.STORAGE_REPORT_STATUS,
      encodeStatusReport({ ...report, status: StorageStatus.ONLINE }),
    );
    await dest.call(Cmd.STORAGE_BEAT);
    expect((await list(src)).map((s) => s.status)).toEqual([StorageStatus.ACTIVE, StorageStatus.ACTIVE]);
    // 76 is taken on a link that never joined (a stock storage reports on one of its own), but
    // only from the address of a storage of the group.
    const own = await link(t, '127.0.0.2');
    await own.call(
      Cmd.STORAGE_REPORT_STATUS,
      encodeStatusReport({ ...report, status: StorageStatus.ONLINE }),
    );
    const stranger = await link(t, '127.0.0.3');
    await expect(
      stranger.call(
        Cmd.STORAGE_REPORT_STATUS,
        encodeStatusReport({ ...report, status: StorageStatus.ONLINE }),
      ),
    ).rejects.toMatchObject({ status: 13 });
  });

  it('121 answers the per-source matrix fed by joins and sync reports (89)', async () => {
    const t = await start();
    const links = new Map<string, Connection>();
    for (const [i, ip] of ['127.0.0.1', '127.0.0.2', '127.0.0.3'].entries()) {
      const c = await link(t);
      const lines = ip === '127.0.0.1' ? [] : [`${JOIN_ADVERTISE_PREFIX}${ip}`];
      await joinAs(c, { port: 23001 + i, lines });
      await c.call(Cmd.STORAGE_BEAT);
      links.set(ip, c);
    }
    const as = (ip: string) => links.get(ip) as Connection;
    await as('127.0.0.1').call(
      Cmd.STORAGE_SYNC_REPORT,
      encodeSyncReport([
        { id: '127.0.0.2', timestamp: 1_700_000_100 },
        { id: '127.0.0.3', timestamp: 1_700_000_050 },
      ]),
    );
    await as('127.0.0.2').call(
      Cmd.STORAGE_SYNC_REPORT,
      encodeSyncReport([{ id: '127.0.0.1', timestamp: 1_700_000_200 }]),
    );
    // Any connection may ask, as for the other monitor commands; no join needed.
    const monitor = await link(t);
    const rows = decodeSyncStatus(
      await monitor.call(Cmd.TRACKER_SYNC_STATUS, encodeSyncStatusQuery('group1')),
    );
    expect(rows).toEqual([
      { dest: '127.0.0.1', source: '127.0.0.2', syncedUntil: 1_700_000_100 },
      { dest: '127.0.0.1', source: '127.0.0.3', syncedUntil: 1_700_000_050 },
      { dest: '127.0.0.2', source: '127.0.0.1', syncedUntil: 1_700_000_200 },
      { dest: '127.0.0.2', source: '127.0.0.3', syncedUntil: 0 },
      { dest: '127.0.0.3', source: '127.0.0.1', syncedUntil: 0 },
      { dest: '127.0.0.3', source: '127.0.0.2', syncedUntil: 0 },
    ]);
    await expect(
      monitor.call(Cmd.TRACKER_SYNC_STATUS, encodeSyncStatusQuery('nosuchgroup')),
    ).rejects.toMatchObject({ status: 2 });
    await expect(monitor.call(Cmd.TRACKER_SYNC_STATUS, Buffer.from('group1'))).rejects.toMatchObject({
      status: 22,
    });
    // A refusal leaves the connection in step: the next request is answered.
    expect(
      decodeSyncStatus(await monitor.call(Cmd.TRACKER_SYNC_STATUS, encodeSyncStatusQuery('group1'))),
    ).toHaveLength(6);
  });

  it('with use_storage_id: the sent id must be listed for the group, else the address and port decide', async () => {
    const t = await start({ useStorageId: true });
    expect((await joinAs(await link(t), { storageId: '100002' })).status).toBe(StorageStatus.ONLINE);
    await expect(joinAs(await link(t), { storageId: '100009' })).rejects.toMatchObject({ status: 2 });
    const byAddress = await link(t);
    await joinAs(byAddress, { port: 23005 });
    expect((await list(byAddress)).map((s) => [s.id, s.storagePort])).toEqual([
      ['100001', 23005],
      ['100002', 23001],
    ]);
    const ids = decodeStorageIdsReply(
      await byAddress.call(Cmd.STORAGE_FETCH_STORAGE_IDS, Buffer.from([0, 0, 0, 0, 1])),
    );
    expect(ids).toEqual({ total: 2, lines: ['100001 group1 127.0.0.1', '100002 group1 127.0.0.1:23002'] });
  });

  it('without a readable storage_ids.conf a tracker with use_storage_id does not start', async () => {
    const base = await tempBase();
    const config = cfg(base, { useStorageId: true, storageIdsFilename: join(base, 'missing.conf') });
    await expect(startTracker(config, { logger: silentLogger })).rejects.toMatchObject({ status: 2 });
  });
});
