import { describe, expect, it } from 'vitest';
import { defaultTrunkConfig } from '../src/config/index.js';
import type { ReservedSpace } from '../src/config/types.js';
import { emptyCounters, Status, StorageStatus } from '../src/protocol/index.js';
import {
  Cluster,
  type ClusterOptions,
  decodeState,
  encodeState,
  type FetchPolicy,
  type FileFacts,
  groupStat,
  type JoinInput,
  mayHaveFile,
  mostFreePath,
  parameterText,
  restoreCluster,
  type StorePolicy,
  selectFetchAll,
  selectFetchOne,
  selectStore,
  selectUpdate,
  snapshotCluster,
  storageStat,
} from '../src/tracker/index.js';
import { renderSysFiles } from '../src/tracker/sys-files.js';

const T0 = 1_700_000_000_000;

interface Rig {
  cluster: Cluster;
  advance(ms: number): void;
  nowMs(): number;
}

function rig(opts: Partial<ClusterOptions> = {}): Rig {
  let t = T0;
  const cluster = new Cluster(
    { checkActiveInterval: 10_000, storePath: 0, storeServer: 0, ...opts },
    () => t,
  );
  return { cluster, advance: (ms) => (t += ms), nowMs: () => t };
}

function req(over: Partial<JoinInput> = {}): JoinInput {
  const ip = over.ip ?? '10.0.0.1';
  return {
    group: 'group1',
    id: over.id ?? ip,
    ip,
    port: 23000,
    storePathCount: 2,
    subdirCountPerPath: 256,
    uploadPriority: 10,
    joinTime: 1_600_000_000,
    upTime: 1_600_000_100,
    version: '6.16',
    initFlag: 0,
    status: 0,
    ...over,
  };
}

const BYTES0: ReservedSpace = { kind: 'bytes', bytes: 0 };

function policy(over: Partial<StorePolicy & FetchPolicy> = {}): StorePolicy & FetchPolicy {
  return {
    storeLookup: 0,
    storeGroup: '',
    storeServer: 0,
    storePath: 0,
    downloadServer: 0,
    reservedStorageSpace: BYTES0,
    storageSyncFileMaxDelay: 86_400_000,
    storageSyncFileMaxTime: 300_000,
    ...over,
  };
}

/** Joins, reports disk (per path free MB) and beats: an ACTIVE storage. */
function activeStorage(c: Cluster, over: Partial<JoinInput> = {}, free: number[] = [1000, 1000]): string {
  const r = req({ storePathCount: free.length, ...over });
  c.join(r);
  c.reportDiskUsage(
    r.group,
    r.id,
    free.map((f) => ({ totalMb: 2000, freeMb: f })),
  );
  c.heartbeat(r.group, r.id);
  return r.id;
}

function statusOf(c: Cluster, id: string, group = 'group1'): number | undefined {
  return c.storage(group, id)?.status;
}

describe('storage status transitions', () => {
  it('join → ONLINE, first beat → ACTIVE', () => {
    const { cluster } = rig();
    const { node, inserted } = cluster.join(req());
    expect(inserted).toBe(true);
    expect(node.status).toBe(StorageStatus.ONLINE);
    expect(cluster.heartbeat('group1', '10.0.0.1')).toBe(true);
    expect(node.status).toBe(StorageStatus.ACTIVE);
    expect(cluster.heartbeat('group1', '10.0.0.1')).toBe(false);
  });

  it('a disk report also activates', () => {
    const { cluster } = rig();
    cluster.join(req());
    cluster.reportDiskUsage('group1', '10.0.0.1', [
      { totalMb: 10, freeMb: 5 },
      { totalMb: 10, freeMb: 6 },
    ]);
    expect(statusOf(cluster, '10.0.0.1')).toBe(StorageStatus.ACTIVE);
    expect(cluster.group('group1')?.space()).toEqual({ totalMb: 20, freeMb: 11 });
  });

  it('an unknown storage that remembers ACTIVE comes back ONLINE', () => {
    const { cluster } = rig();
    expect(cluster.join(req({ initFlag: 0, status: StorageStatus.ACTIVE })).node.status).toBe(
      StorageStatus.ONLINE,
    );
  });

  it('goes OFFLINE after checkActiveInterval without a beat, and a rejoin brings it back', () => {
    const { cluster, advance } = rig();
    const id = activeStorage(cluster);
    advance(10_000);
    expect(cluster.sweep()).toEqual([]);
    advance(1);
    expect(cluster.sweep().map((s) => [s.group, s.storage.id])).toEqual([['group1', id]]);
    expect(statusOf(cluster, id)).toBe(StorageStatus.OFFLINE);
    expect(cluster.sweep()).toEqual([]);
    expect(cluster.join(req()).node.status).toBe(StorageStatus.ONLINE);
    cluster.heartbeat('group1', id);
    expect(statusOf(cluster, id)).toBe(StorageStatus.ACTIVE);
  });

  it('beats keep it ACTIVE', () => {
    const { cluster, advance } = rig();
    const id = activeStorage(cluster);
    for (let i = 0; i < 5; i++) {
      advance(9_000);
      cluster.heartbeat('group1', id);
      expect(cluster.sweep()).toEqual([]);
    }
  });

  it('a closed connection makes it OFFLINE at once', () => {
    const { cluster } = rig();
    const id = activeStorage(cluster);
    expect(cluster.disconnect('group1', id)).toBe(true);
    expect(statusOf(cluster, id)).toBe(StorageStatus.OFFLINE);
    expect(cluster.storage('group1', id)?.upTime).toBe(0);
    expect(cluster.disconnect('group1', id)).toBe(false);
  });

  it('delete: EBUSY while running, then DELETED, then EALREADY; unknown is ENOENT; a rejoin revives it', () => {
    const { cluster } = rig();
    const id = activeStorage(cluster);
    expect(() => cluster.deleteStorage('group1', id)).toThrow(
      expect.objectContaining({ status: Status.EBUSY }),
    );
    expect(() => cluster.deleteStorage('group1', '10.9.9.9')).toThrow(
      expect.objectContaining({ status: Status.ENOENT }),
    );
    expect(() => cluster.deleteStorage('nogroup', id)).toThrow(
      expect.objectContaining({ status: Status.ENOENT }),
    );
    cluster.disconnect('group1', id);
    expect(cluster.deleteStorage('group1', id).status).toBe(StorageStatus.DELETED);
    expect(cluster.storage('group1', id)?.paths).toEqual([]);
    expect(() => cluster.deleteStorage('group1', id)).toThrow(
      expect.objectContaining({ status: Status.EALREADY }),
    );
    expect(() => cluster.heartbeat('group1', id)).toThrow(expect.objectContaining({ status: Status.ENOENT }));
    expect(cluster.join(req()).node.status).toBe(StorageStatus.ONLINE);
  });

  it('refuses bad joins without leaving a trace', () => {
    const { cluster } = rig();
    expect(() => cluster.join(req({ group: 'bad-name' }))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    expect(() => cluster.join(req({ port: 0 }))).toThrow(expect.objectContaining({ status: Status.EINVAL }));
    expect(() => cluster.join(req({ storePathCount: 0 }))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    expect(() => cluster.join(req({ subdirCountPerPath: 257 }))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    expect(() => cluster.join(req({ initFlag: 0, status: StorageStatus.DELETED }))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    expect(cluster.groups.size).toBe(0);
    cluster.join(req({ storePathCount: 2 }));
    expect(() => cluster.join(req({ ip: '10.0.0.2', storePathCount: 1 }))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    expect(() => cluster.join(req({ ip: '10.0.0.2', subdirCountPerPath: 128 }))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    expect(cluster.group('group1')?.storages.size).toBe(1);
    // A lone storage may change its layout: the group follows it.
    cluster.join(req({ storePathCount: 3, subdirCountPerPath: 128 }));
    expect(cluster.group('group1')?.storePathCount).toBe(3);
    expect(cluster.group('group1')?.subdirCountPerPath).toBe(128);
  });

  it('disk reports must cover every path of the group', () => {
    const { cluster } = rig();
    cluster.join(req());
    expect(() => cluster.reportDiskUsage('group1', '10.0.0.1', [{ totalMb: 1, freeMb: 1 }])).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
  });

  it('beat counters replace the old ones but the tracker owns sync and beat times', () => {
    const { cluster, nowMs } = rig();
    const id = activeStorage(cluster, { ip: '10.0.0.1' });
    activeStorage(cluster, { ip: '10.0.0.2' });
    cluster.reportSync('group1', id, [{ id: '10.0.0.2', timestamp: 1234 }]);
    const c = { ...emptyCounters(), totalUploadCount: 7, lastSyncedTimestamp: 99, lastHeartBeatTime: 5 };
    cluster.heartbeat('group1', id, c);
    const node = cluster.storage('group1', id);
    expect(node?.counters.totalUploadCount).toBe(7);
    expect(node?.counters.lastSyncedTimestamp).toBe(1234);
    expect(node?.counters.lastHeartBeatTime).toBe(Math.floor(nowMs() / 1000));
  });

  it('sync reports: min of active peers for round robin, max otherwise; self and unknown ignored', () => {
    for (const [storeServer, expected] of [
      [0, 100],
      [1, 300],
    ] as const) {
      const { cluster } = rig({ storeServer });
      const me = activeStorage(cluster, { ip: '10.0.0.1' });
      activeStorage(cluster, { ip: '10.0.0.2' });
      activeStorage(cluster, { ip: '10.0.0.3' });
      cluster.reportSync('group1', me, [
        { id: '10.0.0.2', timestamp: 100 },
        { id: '10.0.0.3', timestamp: 300 },
        { id: '10.0.0.1', timestamp: 50 },
        { id: '10.0.0.9', timestamp: 10 },
        { id: '10.0.0.3', timestamp: 0 },
      ]);
      expect(cluster.storage('group1', me)?.lastSyncedTimestamp).toBe(expected);
    }
  });
});

describe('store policies', () => {
  it('no group → ENOENT; groups without active storage → ENOENT', () => {
    const { cluster } = rig();
    expect(() => selectStore(cluster, policy(), { all: false })).toThrow(
      expect.objectContaining({ status: Status.ENOENT }),
    );
    cluster.join(req());
    expect(() => selectStore(cluster, policy(), { all: false })).toThrow(
      expect.objectContaining({ status: Status.ENOENT }),
    );
  });

  it('store_lookup 0 rotates groups, skipping full ones; all full → ENOSPC', () => {
    const { cluster } = rig();
    activeStorage(cluster, { group: 'groupA', ip: '10.0.0.1' });
    activeStorage(cluster, { group: 'groupB', ip: '10.0.0.2' });
    activeStorage(cluster, { group: 'groupC', ip: '10.0.0.3' }, [0, 0]);
    const pick = () => selectStore(cluster, policy(), { all: false }).group.name;
    expect([pick(), pick(), pick(), pick()]).toEqual(['groupA', 'groupB', 'groupA', 'groupB']);
    cluster.reportDiskUsage('groupA', '10.0.0.1', [
      { totalMb: 10, freeMb: 0 },
      { totalMb: 10, freeMb: 0 },
    ]);
    cluster.reportDiskUsage('groupB', '10.0.0.2', [
      { totalMb: 10, freeMb: 0 },
      { totalMb: 10, freeMb: 0 },
    ]);
    expect(() => pick()).toThrow(expect.objectContaining({ status: Status.ENOSPC }));
  });

  it('store_lookup 1 uses store_group; a missing one is ENOENT', () => {
    const { cluster } = rig();
    activeStorage(cluster, { group: 'groupA', ip: '10.0.0.1' });
    activeStorage(cluster, { group: 'groupB', ip: '10.0.0.2' });
    const p = policy({ storeLookup: 1, storeGroup: 'groupB' });
    expect(selectStore(cluster, p, { all: false }).group.name).toBe('groupB');
    expect(selectStore(cluster, p, { all: false }).group.name).toBe('groupB');
    expect(() =>
      selectStore(cluster, policy({ storeLookup: 1, storeGroup: 'nope' }), { all: false }),
    ).toThrow(expect.objectContaining({ status: Status.ENOENT }));
  });

  it('store_lookup 2 picks the group with most free space', () => {
    const { cluster } = rig();
    activeStorage(cluster, { group: 'groupA', ip: '10.0.0.1' }, [100, 100]);
    activeStorage(cluster, { group: 'groupB', ip: '10.0.0.2' }, [500, 500]);
    activeStorage(cluster, { group: 'groupC', ip: '10.0.0.3' }, [300, 300]);
    expect(selectStore(cluster, policy({ storeLookup: 2 }), { all: false }).group.name).toBe('groupB');
    expect(selectStore(cluster, policy({ storeLookup: 2 }), { all: false }).group.name).toBe('groupB');
  });

  it('a named group (104): unknown → ENOENT, below reserve → ENOSPC', () => {
    const { cluster } = rig();
    activeStorage(cluster, { group: 'groupA' }, [10, 10]);
    const p = policy({ reservedStorageSpace: { kind: 'bytes', bytes: 100 * 1024 * 1024 } });
    expect(() => selectStore(cluster, p, { group: 'nope', all: false })).toThrow(
      expect.objectContaining({ status: Status.ENOENT }),
    );
    expect(() => selectStore(cluster, p, { group: 'groupA', all: false })).toThrow(
      expect.objectContaining({ status: Status.ENOSPC }),
    );
  });

  it('a group is as full as its fullest active member (ratio reserve)', () => {
    const { cluster } = rig();
    activeStorage(cluster, { ip: '10.0.0.1' }, [1000, 1000]);
    activeStorage(cluster, { ip: '10.0.0.2' }, [100, 100]); // 5% free of 4000
    const p = policy({ reservedStorageSpace: { kind: 'ratio', ratio: 0.1 } });
    expect(() => selectStore(cluster, p, { all: false })).toThrow(
      expect.objectContaining({ status: Status.ENOSPC }),
    );
    cluster.disconnect('group1', '10.0.0.2');
    expect(selectStore(cluster, p, { all: false }).servers[0]?.id).toBe('10.0.0.1');
  });

  it('store_server 0 rotates, 1 takes the first id, 2 the lowest upload priority', () => {
    const { cluster } = rig();
    activeStorage(cluster, { ip: '10.0.0.3', uploadPriority: 1 });
    activeStorage(cluster, { ip: '10.0.0.1', uploadPriority: 20 });
    activeStorage(cluster, { ip: '10.0.0.2', uploadPriority: 5 });
    const pick = (storeServer: 0 | 1 | 2) =>
      selectStore(cluster, policy({ storeServer }), { all: false }).servers[0]?.id;
    expect([pick(0), pick(0), pick(0), pick(0)]).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
    expect([pick(1), pick(1)]).toEqual(['10.0.0.1', '10.0.0.1']);
    expect([pick(2), pick(2)]).toEqual(['10.0.0.3', '10.0.0.3']);
  });

  it('the *_ALL form lists every writable storage', () => {
    const { cluster } = rig();
    activeStorage(cluster, { ip: '10.0.0.2' });
    activeStorage(cluster, { ip: '10.0.0.1' });
    cluster.join(req({ ip: '10.0.0.3' })); // ONLINE only: not writable yet
    const choice = selectStore(cluster, policy(), { all: true });
    expect(choice.servers.map((s) => s.id)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('store_path 0 rotates the paths and skips those below the reserve; all full → ENOSPC', () => {
    const { cluster } = rig();
    const id = activeStorage(cluster, {}, [100, 100, 100]);
    const p = policy({ reservedStorageSpace: { kind: 'bytes', bytes: 60 * 1024 * 1024 } }); // 20 MB per path
    const path = () => selectStore(cluster, p, { all: false }).storePathIndex;
    expect([path(), path(), path(), path()]).toEqual([0, 1, 2, 0]);
    cluster.reportDiskUsage('group1', id, [
      { totalMb: 200, freeMb: 100 },
      { totalMb: 200, freeMb: 10 },
      { totalMb: 200, freeMb: 100 },
    ]);
    expect([path(), path(), path()]).toEqual([2, 0, 2]);
    cluster.reportDiskUsage('group1', id, [
      { totalMb: 200, freeMb: 200 },
      { totalMb: 200, freeMb: 10 },
      { totalMb: 200, freeMb: 10 },
    ]);
    expect([path(), path()]).toEqual([0, 0]);
    const tight = policy({ reservedStorageSpace: { kind: 'ratio', ratio: 0.9 } });
    expect(() => selectStore(cluster, tight, { all: false })).toThrow(
      expect.objectContaining({ status: Status.ENOSPC }),
    );
  });

  it('store_path 2 answers the path with most free MB, set by disk reports', () => {
    const { cluster } = rig({ storePath: 2 });
    const id = activeStorage(cluster, {}, [100, 300, 200]);
    const p = policy({ storePath: 2 });
    expect(selectStore(cluster, p, { all: false }).storePathIndex).toBe(1);
    expect(selectStore(cluster, p, { all: false }).storePathIndex).toBe(1);
    cluster.reportDiskUsage('group1', id, [
      { totalMb: 2000, freeMb: 100 },
      { totalMb: 2000, freeMb: 300 },
      { totalMb: 2000, freeMb: 900 },
    ]);
    expect(selectStore(cluster, p, { all: false }).storePathIndex).toBe(2);
    expect(
      mostFreePath(
        [
          { totalMb: 1, freeMb: 5 },
          { totalMb: 1, freeMb: 5 },
        ],
        1,
      ),
    ).toBe(1);
  });
});

describe('fetch policies', () => {
  const nowS = Math.floor(T0 / 1000);
  const fresh = (ip: string, over: Partial<FileFacts> = {}): FileFacts => ({
    source: { kind: 'ip', ip },
    timestamp: nowS - 10,
    normal: true,
    ...over,
  });

  function threeStorages(): Rig {
    const r = rig();
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) activeStorage(r.cluster, { ip });
    return r;
  }

  it('the "has the file" rule', () => {
    const { cluster, nowMs } = threeStorages();
    const node = cluster.storage('group1', '10.0.0.2');
    if (!node) throw new Error('missing');
    const p = policy();
    expect(mayHaveFile(node, fresh('10.0.0.2'), nowMs(), p)).toBe(true); // the source
    expect(mayHaveFile(node, fresh('10.0.0.1'), nowMs(), p)).toBe(false);
    expect(mayHaveFile(node, fresh('10.0.0.1', { timestamp: nowS - 86_401 }), nowMs(), p)).toBe(true); // past max delay
    node.lastSyncedTimestamp = nowS - 9;
    expect(mayHaveFile(node, fresh('10.0.0.1'), nowMs(), p)).toBe(true); // synced past it
    node.lastSyncedTimestamp = nowS - 400;
    expect(mayHaveFile(node, fresh('10.0.0.1', { timestamp: nowS - 401 }), nowMs(), p)).toBe(true); // caught up, max time over
    expect(mayHaveFile(node, fresh('10.0.0.1', { timestamp: nowS - 200 }), nowMs(), p)).toBe(false);
  });

  it('download_server 0 rotates over storages that may have the file', () => {
    const { cluster, nowMs } = threeStorages();
    const g = cluster.group('group1');
    if (!g) throw new Error('missing');
    const old = fresh('10.0.0.1', { timestamp: nowS - 100_000 });
    const ids = [1, 2, 3, 4].map(() => selectFetchOne(g, old, policy(), nowMs()).id);
    expect(ids).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
    // A fresh file is only on its source.
    expect([1, 2, 3].map(() => selectFetchOne(g, fresh('10.0.0.3'), policy(), nowMs()).id)).toEqual([
      '10.0.0.3',
      '10.0.0.3',
      '10.0.0.3',
    ]);
  });

  it('download_server 1 and appender/slave files go to the source', () => {
    const { cluster, nowMs } = threeStorages();
    const g = cluster.group('group1');
    if (!g) throw new Error('missing');
    const old = fresh('10.0.0.2', { timestamp: nowS - 100_000 });
    expect([1, 2].map(() => selectFetchOne(g, old, policy({ downloadServer: 1 }), nowMs()).id)).toEqual([
      '10.0.0.2',
      '10.0.0.2',
    ]);
    const appender = { ...old, normal: false };
    expect(selectFetchOne(g, appender, policy(), nowMs()).id).toBe('10.0.0.2');
    expect(selectFetchAll(g, appender, policy(), nowMs()).map((s) => s.id)).toEqual(['10.0.0.2']);
  });

  it('falls back to the store server when no one qualifies; no active storage → ENOENT', () => {
    const { cluster, nowMs } = threeStorages();
    const g = cluster.group('group1');
    if (!g) throw new Error('missing');
    cluster.disconnect('group1', '10.0.0.2');
    expect(selectFetchOne(g, fresh('10.0.0.2'), policy(), nowMs()).id).toBe('10.0.0.1');
    expect(selectFetchAll(g, fresh('10.0.0.2'), policy(), nowMs()).map((s) => s.id)).toEqual(['10.0.0.1']);
    cluster.disconnect('group1', '10.0.0.1');
    cluster.disconnect('group1', '10.0.0.3');
    expect(() => selectFetchOne(g, fresh('10.0.0.2'), policy(), nowMs())).toThrow(
      expect.objectContaining({ status: Status.ENOENT }),
    );
  });

  it('fetch-all lists every storage that may hold the file', () => {
    const { cluster, nowMs } = threeStorages();
    const g = cluster.group('group1');
    if (!g) throw new Error('missing');
    expect(selectFetchAll(g, fresh('10.0.0.2'), policy(), nowMs()).map((s) => s.id)).toEqual(['10.0.0.2']);
    const old = fresh('10.0.0.2', { timestamp: nowS - 100_000 });
    expect(selectFetchAll(g, old, policy(), nowMs()).map((s) => s.id)).toEqual([
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.3',
    ]);
  });

  it('update goes to the source, or to a writable storage when the source is down', () => {
    const { cluster } = threeStorages();
    const g = cluster.group('group1');
    if (!g) throw new Error('missing');
    expect(selectUpdate(g, fresh('10.0.0.3'), policy()).id).toBe('10.0.0.3');
    cluster.disconnect('group1', '10.0.0.3');
    expect([1, 2].map(() => selectUpdate(g, fresh('10.0.0.3'), policy()).id)).toEqual([
      '10.0.0.1',
      '10.0.0.2',
    ]);
  });

  it('a numeric source id matches the storage id', () => {
    const { cluster, nowMs } = rig();
    activeStorage(cluster, { ip: '10.0.0.1', id: '100001' });
    activeStorage(cluster, { ip: '10.0.0.2', id: '100002' });
    const g = cluster.group('group1');
    if (!g) throw new Error('missing');
    const file: FileFacts = { source: { kind: 'id', id: 100002 }, timestamp: nowS, normal: true };
    expect(selectFetchOne(g, file, policy(), nowMs()).id).toBe('100002');
  });
});

describe('state snapshot', () => {
  it('round-trips; storages come back OFFLINE unless mid-sync; deleted ones are dropped', () => {
    const { cluster } = rig();
    activeStorage(cluster, { ip: '10.0.0.1' });
    activeStorage(cluster, { ip: '10.0.0.2' });
    cluster.join(req({ ip: '10.0.0.3' }));
    cluster.disconnect('group1', '10.0.0.2');
    cluster.deleteStorage('group1', '10.0.0.2');
    const n3 = cluster.storage('group1', '10.0.0.3');
    if (n3) {
      n3.status = StorageStatus.WAIT_SYNC;
      n3.syncSrcId = '10.0.0.1';
    }
    const decoded = decodeState(encodeState(snapshotCluster(cluster)));
    const { cluster: back } = rig();
    restoreCluster(back, decoded);
    const g = back.group('group1');
    expect(g?.sorted().map((s) => [s.id, s.status])).toEqual([
      ['10.0.0.1', StorageStatus.OFFLINE],
      ['10.0.0.3', StorageStatus.WAIT_SYNC],
    ]);
    expect(g?.storePathCount).toBe(2);
    expect(back.storage('group1', '10.0.0.1')?.paths).toEqual([
      { totalMb: 2000, freeMb: 1000 },
      { totalMb: 2000, freeMb: 1000 },
    ]);
  });

  it("keeps each group's trunk server and highest trunk file id, and reads files without them", () => {
    const { cluster } = rig();
    activeStorage(cluster, { ip: '10.0.0.1' });
    activeStorage(cluster, { ip: '10.0.0.2' });
    const g = cluster.group('group1');
    if (!g) throw new Error('missing');
    g.trunkServerId = '10.0.0.2';
    g.currentTrunkFileId = 41;
    const snap = decodeState(encodeState(snapshotCluster(cluster)));
    const { cluster: back } = rig();
    restoreCluster(back, snap);
    expect([back.group('group1')?.trunkServerId, back.group('group1')?.currentTrunkFileId]).toEqual([
      '10.0.0.2',
      41,
    ]);
    const old = { groups: snap.groups.map(({ currentTrunkFileId, trunkServerId, ...rest }) => rest) };
    const { cluster: older } = rig();
    restoreCluster(older, decodeState(encodeState(old)));
    expect([older.group('group1')?.trunkServerId, older.group('group1')?.currentTrunkFileId]).toEqual([
      undefined,
      0,
    ]);
    // and a stock tracker that joins gets them in storage_groups_new.dat, as FastDFS writes it
    const groupsDat = renderSysFiles(back, false)[0]?.toString() ?? '';
    expect(groupsDat).toMatch(
      /^\tcurrent_trunk_file_id=41\n\ttrunk_server=10\.0\.0\.2\n\tlast_trunk_server=10\.0\.0\.2$/m,
    );
    const bad = { groups: snap.groups.map((x) => ({ ...x, currentTrunkFileId: -1 })) };
    expect(() => decodeState(encodeState(bad))).toThrow(expect.objectContaining({ status: Status.EINVAL }));
  });

  it('refuses torn, corrupted or odd files', () => {
    const { cluster } = rig();
    activeStorage(cluster);
    const good = encodeState(snapshotCluster(cluster));
    expect(() => decodeState(good.subarray(0, good.length - 5))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    const flipped = Buffer.from(good);
    flipped.writeUInt8((flipped.at(-3) ?? 0) ^ 0x01, flipped.length - 3);
    expect(() => decodeState(flipped)).toThrow(expect.objectContaining({ status: Status.EINVAL }));
    expect(() => decodeState(Buffer.from('garbage'))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    expect(() => decodeState(encodeState({ groups: [{ name: 'x' }] } as never))).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
  });
});

describe('stats and parameters', () => {
  it('group and storage stat figures', () => {
    const { cluster } = rig();
    activeStorage(cluster, { ip: '10.0.0.1', uploadPriority: 3 }, [500, 700]);
    cluster.join(req({ ip: '10.0.0.2' }));
    const g = cluster.group('group1');
    if (!g) throw new Error('missing');
    const gs = groupStat(g, { kind: 'ratio', ratio: 0.1 });
    expect(gs).toMatchObject({
      groupName: 'group1',
      totalMb: 4000,
      freeMb: 1200,
      reservedMb: 400,
      storageCount: 2,
      storagePort: 23000,
      activeCount: 1,
      writableCount: 1,
      storePathCount: 2,
      subdirCountPerPath: 256,
    });
    const node = cluster.storage('group1', '10.0.0.1');
    if (!node) throw new Error('missing');
    const ss = storageStat(node, BYTES0);
    expect(ss).toMatchObject({
      status: StorageStatus.ACTIVE,
      id: '10.0.0.1',
      ip: '10.0.0.1',
      version: '6.16',
      totalMb: 4000,
      freeMb: 1200,
      uploadPriority: 3,
      storagePort: 23000,
    });
    expect(ss.counters.lastHeartBeatTime).toBe(Math.floor(T0 / 1000));
  });

  it('parameter text', () => {
    const text = parameterText({
      useStorageId: false,
      idTypeInFilename: 'ip',
      storageSyncFileMaxDelay: 86_400_000,
      storePath: 2,
      reservedStorageSpace: { kind: 'ratio', ratio: 0.2 },
      trunk: defaultTrunkConfig(),
    } as never);
    expect(text).toContain('use_storage_id=0\n');
    expect(text).toContain('id_type_in_filename=ip\n');
    expect(text).toContain('storage_sync_file_max_delay=86400\n');
    expect(text).toContain('store_path=2\n');
    expect(text).toContain('reserved_storage_space=20.00%\n');
    expect(text).toContain('use_trunk_file=0\n');
    expect(text.endsWith('store_slave_file_use_link=0\n')).toBe(true);
  });
});
