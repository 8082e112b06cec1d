/**
 * Issue 12, case 3 (a stock tracker beside ours): what our storage tells its trackers so that a
 * FastDFS tracker, which takes less than ours does, still hears it.
 *
 * 1. A storage that settled "no source" with one tracker must still turn ACTIVE on a second
 *    tracker that lists it INIT. FastDFS' storage tells every tracker its source after each join
 *    (88, empty when there was none), and a FastDFS tracker ignores a storage's report about
 *    itself (76) while that storage is INIT (tracker_mem_sync_storages skips it). Seen by hand:
 *    our storage joined our tracker (the leader) first, then a stock tracker that already knew
 *    the group's other storage, and stayed INIT there. The second tracker here is ours behind a
 *    scripted raw-TCP front that answers 76 as a FastDFS tracker does for an INIT storage (OK,
 *    nothing changed) and passes everything else through from the storage's own address,
 *    holding the join's answer until the first tracker settled.
 * 2. A sync report (89) counts only for sources the tracker lists ACTIVE at that moment (a
 *    FastDFS tracker drops the other rows; ours computes last_synced_timestamp over ACTIVE
 *    sources). Seen by hand: a stock tracker restarted, heard our storage's report before the
 *    stock storage was back, and showed ours 20 s behind until the next file. The report goes
 *    again when the tracker's ACTIVE set changes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Connection } from '../src/client/index.js';
import { silentLogger } from '../src/common/index.js';
import { defaultStorageConfig } from '../src/config/index.js';
import { encodeRemoteFilename } from '../src/fileid/index.js';
import {
  Cmd,
  encodeJoin,
  encodePacket,
  encodeSyncFile,
  encodeSyncSource,
  FrameReader,
  StorageStatus,
} from '../src/protocol/index.js';
import { startStorage } from '../src/storage/index.js';
import { startTracker, type TrackerHandle } from '../src/tracker/index.js';
import { testTrackerConfig } from './helpers/fixtures.js';
import { eventually } from './helpers/node-process.js';
import { deadAddress } from './helpers/raw-peer.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A front for `to`: relays each request from the client's own address and its answer back, but
 * answers 76 itself (OK, nothing changed) and holds the answer to the join until `release`.
 */
function stockStatusFront(
  to: { host: string; port: number },
  release: Promise<void>,
): { server: Server; close(): Promise<void> } {
  const open = new Set<Socket>();
  const server = createServer((client: Socket) => {
    open.add(client);
    const up = connect({ host: to.host, port: to.port, localAddress: client.remoteAddress ?? '127.0.0.1' });
    open.add(up);
    const done = () => {
      client.destroy();
      up.destroy();
    };
    up.on('error', done).on('close', done);
    client.on('error', done).on('close', done);
    const fromClient = new FrameReader(client);
    const fromUp = new FrameReader(up);
    void (async () => {
      for (;;) {
        const h = await fromClient.readHeader();
        if (!h) return done();
        const body = await fromClient.readExact(h.length);
        if (h.cmd === Cmd.STORAGE_REPORT_STATUS) {
          client.write(encodePacket(Cmd.RESP, undefined, 0));
          continue;
        }
        up.write(encodePacket(h.cmd, body, h.status));
        const a = await fromUp.readHeader();
        if (!a) return done();
        const answer = await fromUp.readExact(a.length);
        if (h.cmd === Cmd.STORAGE_JOIN) await release;
        client.write(encodePacket(a.cmd, answer, a.status));
      }
    })().catch(done);
  });
  return {
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const c of open) c.destroy();
        server.close(() => r());
      }),
  };
}

const storagesOf = (t: TrackerHandle) =>
  new Map([...(t.cluster.group('group1')?.storages.values() ?? [])].map((s) => [s.ip, s.status]));

describe('a storage with two trackers, one of which lists it INIT', () => {
  it('tells that tracker it had no source (88) and turns ACTIVE there', async () => {
    const base = await mkdtemp(join(tmpdir(), 'fdfs-sync-notify-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const start = async (name: string) => {
      const t = await startTracker(testTrackerConfig(join(base, name), { bindAddr: '127.0.0.1', port: 0 }), {
        logger: silentLogger,
      });
      cleanups.push(() => t.close());
      return t;
    };
    const t1 = await start('t1');
    const t2 = await start('t2');
    // t2 already knows another storage of the group, holding its data (ACTIVE): a newcomer is
    // INIT there. It listens on a dead port, so nothing reaches it.
    const other = await deadAddress();
    const p = await Connection.open({
      host: '127.0.0.1',
      port: t2.address.port,
      localAddress: '127.0.0.191',
      connectTimeout: 2000,
      networkTimeout: 60_000,
    });
    cleanups.push(async () => p.close());
    await p.call(
      Cmd.STORAGE_JOIN,
      encodeJoin({
        group: 'group1',
        storagePort: other.port,
        storePathCount: 1,
        subdirCountPerPath: 4,
        uploadPriority: 10,
        joinTime: 1,
        upTime: 1,
        version: '6.16.1',
        initFlag: 0,
        status: StorageStatus.ACTIVE,
        storageId: '',
        currentTrackerIp: '127.0.0.1',
        trackers: [`127.0.0.1:${t2.address.port}`],
      }),
    );
    await p.call(Cmd.STORAGE_BEAT);
    expect(storagesOf(t2).get('127.0.0.191')).toBe(StorageStatus.ACTIVE);

    // The storage joins both at once, each join saying it needs data (INIT on t2, where a peer
    // has it). t2's answer is held until t1 answered the source request: none, the copy is done.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const front = stockStatusFront({ host: '127.0.0.1', port: t2.address.port }, held);
    await new Promise<void>((r) => front.server.listen(0, '127.0.0.193', r));
    cleanups.push(() => front.close());
    const at = front.server.address() as { port: number };
    const s = await startStorage(
      defaultStorageConfig(
        new Map([
          ['base_path', [join(base, 's')]],
          ['bind_addr', ['127.0.0.192']],
          ['port', ['0']],
          ['tracker_server', [`127.0.0.1:${t1.address.port}`, `127.0.0.193:${at.port}`]],
          ['subdir_count_per_path', ['4']],
          ['durable_writes', ['false']],
          ['heart_beat_interval', ['1']],
        ]),
      ).config,
      { logger: silentLogger },
    );
    cleanups.push(() => s.close());
    await eventually(async () => expect(storagesOf(t2).get('127.0.0.192')).toBe(StorageStatus.INIT), 15_000);
    await eventually(
      async () => expect(storagesOf(t1).get('127.0.0.192')).toBe(StorageStatus.ACTIVE),
      15_000,
    );
    release();
    await eventually(async () => {
      await p.call(Cmd.STORAGE_BEAT); // keeps the other storage ACTIVE on t2
      expect(storagesOf(t2).get('127.0.0.192')).toBe(StorageStatus.ACTIVE);
    }, 20_000);
  }, 60_000);
});

describe('a sync report heard before its source was ACTIVE', () => {
  it('goes again once the tracker lists that source ACTIVE', async () => {
    const base = await mkdtemp(join(tmpdir(), 'fdfs-sync-report-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const t = await startTracker(testTrackerConfig(join(base, 't'), { bindAddr: '127.0.0.1', port: 0 }), {
      logger: silentLogger,
    });
    cleanups.push(() => t.close());
    const s = await startStorage(
      defaultStorageConfig(
        new Map([
          ['base_path', [join(base, 's')]],
          ['bind_addr', ['127.0.0.195']],
          ['port', ['0']],
          ['tracker_server', [`127.0.0.1:${t.address.port}`]],
          ['subdir_count_per_path', ['4']],
          ['durable_writes', ['false']],
          ['heart_beat_interval', ['1']],
        ]),
      ).config,
      { logger: silentLogger },
    );
    cleanups.push(() => s.close());
    await eventually(async () => expect(storagesOf(t).get('127.0.0.195')).toBe(StorageStatus.ACTIVE), 15_000);
    // A stock peer joins needing data (INIT: the group has a storage with data) and pushes one
    // file the way FastDFS does, with no watermark: our storage holds its files up to that file.
    const other = await deadAddress();
    const p = await Connection.open({
      host: '127.0.0.1',
      port: t.address.port,
      localAddress: '127.0.0.196',
      connectTimeout: 2000,
      networkTimeout: 60_000,
    });
    cleanups.push(async () => p.close());
    await p.call(
      Cmd.STORAGE_JOIN,
      encodeJoin({
        group: 'group1',
        storagePort: other.port,
        storePathCount: 1,
        subdirCountPerPath: 4,
        uploadPriority: 10,
        joinTime: 1,
        upTime: 1,
        version: '6.16.1',
        initFlag: 1,
        status: StorageStatus.INIT,
        storageId: '',
        currentTrackerIp: '127.0.0.1',
        trackers: [`127.0.0.1:${t.address.port}`],
      }),
    );
    expect(storagesOf(t).get('127.0.0.196')).toBe(StorageStatus.INIT);
    const ts = Math.floor(Date.now() / 1000) - 60;
    const content = Buffer.from('pushed by a stock peer');
    const name = encodeRemoteFilename({
      storePathIndex: 0,
      subdirHigh: 1,
      subdirLow: 2,
      source: { kind: 'ip', ip: '127.0.0.196' },
      timestamp: ts,
      size: content.length,
      crc32: 0,
      ext: 'txt',
    });
    const push = await Connection.open({
      host: '127.0.0.195',
      port: s.address.port,
      localAddress: '127.0.0.196',
      connectTimeout: 2000,
      networkTimeout: 10_000,
    });
    cleanups.push(async () => push.close());
    await eventually(async () => {
      await push.call(
        Cmd.SYNC_CREATE_FILE,
        Buffer.concat([encodeSyncFile('group1', name, content.length, ts), content]),
      );
    }, 10_000);
    // The report reaches the tracker while the peer is INIT: it counts for nothing yet.
    const me = () =>
      [...(t.cluster.group('group1')?.storages.values() ?? [])].find((n) => n.ip === '127.0.0.195');
    await eventually(async () => expect(me()?.syncedFrom.get('127.0.0.196')).toBe(ts), 10_000);
    expect(me()?.lastSyncedTimestamp).toBe(0);
    // The peer had no source after all (88, empty) and beats: ACTIVE. Nothing new was pushed.
    await p.call(Cmd.STORAGE_SYNC_NOTIFY, encodeSyncSource({ srcId: '', until: 0 }));
    await p.call(Cmd.STORAGE_BEAT);
    expect(storagesOf(t).get('127.0.0.196')).toBe(StorageStatus.ACTIVE);
    await eventually(async () => {
      await p.call(Cmd.STORAGE_BEAT);
      expect(me()?.lastSyncedTimestamp).toBe(ts);
    }, 15_000);
  }, 60_000);
});
