/**
 * Kill -9 the trunk server of a two-storage trunk group (durable writes) under a burst of small
 * uploads: the peer
 * takes the role from its copy of the trunk binlog and goes on packing uploads. Every upload
 * answered before the kill must still be intact afterwards, on both storages once the dead one
 * is back and replication has settled: the new trunk server must not have handed out a slot an
 * answered file holds. (Pushed behind the answers, the binlog copy missed the last ~200 ms of
 * slots; the peer gave them out again and its files overwrote answered ones: chaos --trunk.)
 * And the peer that cannot vouch for its copy (it was down while the trunk server answered)
 * takes the role with its free space set aside.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { FdfsClient } from '../src/client/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { matchesId } from './harness/verify.js';
import { type Proc, startStorageProc, startTrackerProc } from './helpers/cluster.js';
import { trackerClient, uploadDirect } from './helpers/direct.js';
import { eventually } from './helpers/node-process.js';
import { TRUNK_TRACKER_KEYS } from './helpers/trunk-store.js';

const procs: Proc[] = [];

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop().catch(() => {});
});

const isPacked = (id: string) => decodeRemoteFilename(id.slice(id.indexOf('/') + 1)).type === 'trunk';

/** `writers` concurrent uploaders of 1-32 KB files to `to` until `stop()` says so; answered ids go in `into`. */
function burst(client: FdfsClient, to: Proc, into: Set<string>, stop: () => boolean, writers = 16) {
  return Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; !stop(); i++) {
        const data = randomBytes(1024 + ((w * 7919 + i * 4099) % 31_000));
        try {
          into.add(await uploadDirect(client, to, data));
        } catch {
          return; // the storage died under us
        }
      }
    }),
  );
}

/** Runs a burst to `to` until `count` uploads were answered; their ids. */
async function answered(client: FdfsClient, to: Proc, count: number, then?: () => Promise<void>) {
  const ids = new Set<string>();
  let stop = false;
  const load = burst(client, to, ids, () => stop);
  await eventually(async () => {
    if (ids.size < count) throw new Error(`${ids.size} of ${count} uploads answered`);
  }, 60_000);
  await then?.(); // e.g. kill -9 in full flight
  stop = true;
  await load;
  return ids;
}

/**
 * A tracker and two storages of group1 on `hosts`, both ACTIVE (only an ACTIVE storage takes the
 * role) and packing. Replication of files runs slower than the trunk binlog's: a peer cannot
 * learn the last files' slots from their replicas (reconcile.ts) nor find their trunk files.
 */
async function trunkPair(hosts: readonly [string, string]) {
  const tracker = await startTrackerProc({
    sets: Object.entries(TRUNK_TRACKER_KEYS).map(([k, v]) => `${k}=${v}`),
  });
  procs.push(tracker);
  const opts = (host: string, base?: string) => ({
    host,
    group: 'group1',
    trackers: [tracker],
    sets: ['durable_writes=true', 'sync_wait_msec=500'],
    ...(base ? { base } : {}),
  });
  const start = async (host: string, base?: string) => {
    const p = await startStorageProc(opts(host, base));
    procs.push(p);
    return p;
  };
  const members = [await start(hosts[0]), await start(hosts[1])];
  const client = trackerClient(tracker);
  /** The ip of the storage the tracker names trunk server. */
  const named = async () => (await client.listStorages('group1')).find((x) => x.ifTrunkServer)?.ip;
  await eventually(async () => {
    const list = await client.listStorages('group1');
    if (list.length !== 2 || list.some((x) => x.status !== StorageStatus.ACTIVE))
      throw new Error('not both ACTIVE yet');
    if (!(await named())) throw new Error('no trunk server yet');
    for (const p of members)
      if (!isPacked(await uploadDirect(client, p, Buffer.from('probe')))) throw new Error('not packing yet');
  }, 30_000);
  const serverHost = await named();
  const server = members.find((p) => p.host === serverHost) as Proc;
  const peer = members.find((p) => p !== server) as Proc;
  /** Waits until `p` is named trunk server and packs. */
  const takesRole = (p: Proc) =>
    eventually(async () => {
      if ((await named()) !== p.host) throw new Error(`${p.host} not the trunk server yet`);
      if (!isPacked(await uploadDirect(client, p, Buffer.from('probe')))) throw new Error('not packing yet');
    }, 30_000);
  /** Once replication settles, every id in `ids` matches its content on both storages' disks. */
  const allIntact = (bases: readonly string[], ids: readonly string[]) =>
    eventually(async () => {
      const bad: string[] = [];
      for (const base of bases)
        for (const id of ids) {
          const why = await matchesId(base, id);
          if (why) bad.push(why);
        }
      expect(bad.slice(0, 5), `${bad.length} of ${ids.length * bases.length} checks`).toEqual([]);
    }, 60_000);
  return { client, server, peer, start, takesRole, allIntact };
}

describe('trunk server killed under load in a two-storage trunk group', () => {
  it('the peer takes the role and never hands out a slot an answered file holds', async () => {
    const g = await trunkPair(['127.0.0.8', '127.0.0.9']);
    try {
      // A burst into the trunk server's own slots, killed in full flight.
      const before = await answered(g.client, g.server, 2000, () => g.server.kill9());
      // The peer takes the role and packs a burst of its own into what it lists free.
      await g.takesRole(g.peer);
      const after = await answered(g.client, g.peer, 2000);
      expect([...after].filter(isPacked).length).toBeGreaterThan(1000);
      // The dead one back on its folder; once replication settles both hold every answered file.
      const back = await g.start(g.server.host, g.server.base);
      await g.allIntact([back.base, g.peer.base], [...before, ...after]);
    } finally {
      await g.client.close();
    }
  }, 240_000);

  it('a peer back from a restart takes the role before it was caught up: it sets the free space aside', async () => {
    const g = await trunkPair(['127.0.0.10', '127.0.0.11']);
    try {
      // The peer goes; the trunk server answers 1,000 packed uploads without it, then dies too.
      await g.peer.kill9();
      const missed = await answered(g.client, g.server, 1000);
      await g.server.kill9();
      // The peer comes back alone: the only storage, it is named trunk server, with a copy that
      // lacks every slot of those uploads. It packs 2,000 of its own.
      const peerBack = await g.start(g.peer.host, g.peer.base);
      await g.takesRole(peerBack);
      const after = await answered(g.client, peerBack, 2000);
      // The trunk server back; once replication settles both hold every answered file.
      const serverBack = await g.start(g.server.host, g.server.base);
      await g.allIntact([serverBack.base, peerBack.base], [...missed, ...after]);
      expect(peerBack.stderr.some((l) => l.includes('free space set aside'))).toBe(true);
    } finally {
      await g.client.close();
    }
  }, 240_000);
});
