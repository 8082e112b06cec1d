/**
 * Kill -9 the trunk server of a two-storage trunk group under a burst of small uploads: the peer
 * takes the role from its copy of the trunk binlog and goes on packing uploads. Every upload
 * answered before the kill must still be intact afterwards, on both storages once the dead one
 * is back and replication has settled: the new trunk server must not have handed out a slot an
 * answered file holds. (Pushed behind the answers, the binlog copy missed the last ~200 ms of
 * slots; the peer gave them out again and its files overwrote answered ones: chaos --trunk.)
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FdfsClient, resolveSource, StorageClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { matchesId } from './harness/verify.js';
import { type Proc, startStorageProc, startTrackerProc } from './helpers/cluster.js';
import { eventually } from './helpers/node-process.js';
import { TRUNK_TRACKER_KEYS } from './helpers/trunk-store.js';

const procs: Proc[] = [];

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop().catch(() => {});
});

function clientOf(tracker: Proc): FdfsClient {
  return new FdfsClient(
    defaultClientConfig(
      new Map([
        ['tracker_server', [`${tracker.host}:${tracker.port}`]],
        ['network_timeout', ['5']],
        ['connect_timeout', ['2']],
      ]),
    ).config,
  );
}

/** Straight to one storage, as a client the tracker sent there. */
async function uploadTo(client: FdfsClient, to: Proc, content: Buffer): Promise<string> {
  const stored = await client.pool.use({ host: to.host, port: to.port }, async (conn) =>
    new StorageClient(conn).upload({
      storePathIndex: 0xff,
      ext: 'bin',
      content: await resolveSource(content),
      appender: false,
    }),
  );
  return `${stored.group}/${stored.remote}`;
}

/** `writers` concurrent uploaders of 1-32 KB files to `to` until `stop()` says so; answered ids go in `into`. */
function burst(client: FdfsClient, to: Proc, into: Set<string>, stop: () => boolean, writers = 16) {
  return Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; !stop(); i++) {
        const data = randomBytes(1024 + ((w * 7919 + i * 4099) % 31_000));
        try {
          into.add(await uploadTo(client, to, data));
        } catch {
          return; // the storage died under us
        }
      }
    }),
  );
}

describe('trunk server killed under load in a two-storage trunk group', () => {
  it('the peer takes the role and never hands out a slot an answered file holds', async () => {
    const tracker = await startTrackerProc({
      sets: Object.entries(TRUNK_TRACKER_KEYS).map(([k, v]) => `${k}=${v}`),
    });
    procs.push(tracker);
    const opts = (host: string) => ({
      host,
      group: 'group1',
      trackers: [tracker],
      // Replication of files slower than the trunk binlog's: the peer cannot learn the last
      // files' slots from their replicas (reconcile.ts) nor find their trunk files on its disk.
      sets: ['durable_writes=false', 'sync_wait_msec=500'],
    });
    const members = new Map<string, Proc>();
    for (const host of ['127.0.0.8', '127.0.0.9']) {
      const p = await startStorageProc(opts(host));
      procs.push(p);
      members.set(host, p);
    }
    const client = clientOf(tracker);
    const trunkServer = async (): Promise<Proc> => {
      const list = await client.listStorages('group1');
      const s = list.find((x) => x.ifTrunkServer);
      const p = s && members.get(s.ip);
      if (!p) throw new Error('no trunk server yet');
      return p;
    };
    try {
      // Both ACTIVE (only an ACTIVE storage takes the role) and packing.
      const first = await eventually(trunkServer, 30_000);
      await eventually(async () => {
        const list = await client.listStorages('group1');
        if (list.length !== 2 || list.some((x) => x.status !== StorageStatus.ACTIVE))
          throw new Error('not both ACTIVE yet');
        for (const p of members.values()) {
          const id = await uploadTo(client, p, Buffer.from('probe'));
          if (decodeRemoteFilename(id.slice(7)).type !== 'trunk') throw new Error('not packing yet');
        }
      }, 30_000);
      const peerHost = [...members.keys()].find((h) => h !== first.host) as string;
      const peer = members.get(peerHost) as Proc;

      // A burst into the trunk server's own slots, killed in full flight.
      const before = new Set<string>();
      let stopped = false;
      const load = burst(client, first, before, () => stopped);
      await eventually(async () => {
        if (before.size < 2000) throw new Error('waiting for answered uploads');
      }, 60_000);
      await first.kill9();
      stopped = true;
      await load;

      // The peer takes the role and packs a burst of its own into what it lists free.
      await eventually(async () => {
        if ((await trunkServer()) !== peer) throw new Error('peer not the trunk server yet');
      }, 30_000);
      const after = new Set<string>();
      let enough = false;
      const load2 = burst(client, peer, after, () => enough);
      await eventually(async () => {
        if (after.size < 2000) throw new Error('waiting for the peer to pack');
      }, 60_000);
      enough = true;
      await load2;
      const packed = [...after].filter((id) => decodeRemoteFilename(id.slice(7)).type === 'trunk');
      expect(packed.length).toBeGreaterThan(1000);

      // The dead one back on its folder; once replication settles both hold every answered file.
      const back = await startStorageProc({ ...opts(first.host), base: first.base });
      procs.push(back);
      const answered = [...before, ...after];
      await eventually(async () => {
        const bad: string[] = [];
        for (const base of [back.base, peer.base])
          for (const id of answered) {
            const why = await matchesId(base, id);
            if (why) bad.push(`${base === back.base ? 'restarted' : 'peer'}: ${why}`);
          }
        expect(bad.slice(0, 5), `${bad.length} of ${answered.length * 2} checks`).toEqual([]);
      }, 60_000);
    } finally {
      await client.close();
    }
  }, 240_000);

  it('a peer back from a restart takes the role before it was caught up: it sets the free space aside', async () => {
    const tracker = await startTrackerProc({
      sets: Object.entries(TRUNK_TRACKER_KEYS).map(([k, v]) => `${k}=${v}`),
    });
    procs.push(tracker);
    const opts = (host: string) => ({
      host,
      group: 'group1',
      trackers: [tracker],
      sets: ['durable_writes=false', 'sync_wait_msec=500'],
    });
    const members = new Map<string, Proc>();
    for (const host of ['127.0.0.10', '127.0.0.11']) {
      const p = await startStorageProc(opts(host));
      procs.push(p);
      members.set(host, p);
    }
    const client = clientOf(tracker);
    const named = async (): Promise<string | undefined> =>
      (await client.listStorages('group1')).find((x) => x.ifTrunkServer)?.ip;
    try {
      await eventually(async () => {
        const list = await client.listStorages('group1');
        if (list.length !== 2 || list.some((x) => x.status !== StorageStatus.ACTIVE))
          throw new Error('not both ACTIVE yet');
        if (!(await named())) throw new Error('no trunk server yet');
        for (const p of members.values()) {
          const id = await uploadTo(client, p, Buffer.from('probe'));
          if (decodeRemoteFilename(id.slice(7)).type !== 'trunk') throw new Error('not packing yet');
        }
      }, 30_000);
      const server = members.get((await named()) as string) as Proc;
      const peer = [...members.values()].find((p) => p !== server) as Proc;

      // The peer goes; the trunk server answers 1,000 packed uploads without it, then dies too.
      await peer.kill9();
      const missed = new Set<string>();
      let enough = false;
      const load = burst(client, server, missed, () => enough);
      await eventually(async () => {
        if (missed.size < 1000) throw new Error('waiting for answered uploads');
      }, 60_000);
      enough = true;
      await load;
      await server.kill9();

      // The peer comes back alone: the only storage, it is named trunk server, with a copy that
      // lacks every slot of those uploads. It packs 2,000 of its own.
      const peerBack = await startStorageProc({ ...opts(peer.host), base: peer.base });
      procs.push(peerBack);
      await eventually(async () => {
        if ((await named()) !== peer.host) throw new Error('peer not the trunk server yet');
        const id = await uploadTo(client, peerBack, Buffer.from('probe'));
        if (decodeRemoteFilename(id.slice(7)).type !== 'trunk') throw new Error('not packing yet');
      }, 30_000);
      const after = new Set<string>();
      enough = false;
      const load2 = burst(client, peerBack, after, () => enough);
      await eventually(async () => {
        if (after.size < 2000) throw new Error('waiting for the peer to pack');
      }, 60_000);
      enough = true;
      await load2;

      // The trunk server back; once replication settles both hold every answered file.
      const serverBack = await startStorageProc({ ...opts(server.host), base: server.base });
      procs.push(serverBack);
      const answered = [...missed, ...after];
      await eventually(async () => {
        const bad: string[] = [];
        for (const base of [serverBack.base, peerBack.base])
          for (const id of answered) {
            const why = await matchesId(base, id);
            if (why) bad.push(`${base === serverBack.base ? 'server' : 'peer'}: ${why}`);
          }
        expect(bad.slice(0, 5), `${bad.length} of ${answered.length * 2} checks`).toEqual([]);
      }, 60_000);
      expect(peerBack.stderr.some((l) => l.includes('free space set aside'))).toBe(true);
    } finally {
      await client.close();
    }
  }, 240_000);
});
