/**
 * The trunk binlog's compression (trunk_compress_binlog_interval): two of our storages in a
 * trunk group (in process, 127.0.0.4 and 127.0.0.5), compression every second. The trunk
 * server's binlog becomes its free list as A records plus what came after, while uploads and
 * deletes go on; the peer's copy is made again from it; the list loads back the same from the
 * trunk server's files and from the peer's copy when it takes the role over, and no live file's
 * slot is listed free.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FdfsClient, StorageClient } from '../src/client/index.js';
import type { StorageNode } from '../src/storage/index.js';
import {
  describeSlot,
  loadFreeSpace,
  locate,
  parseTrunkRecord,
  TrunkBinlog,
  type TrunkSlot,
  trunkDataPath,
} from '../src/storage/trunk/index.js';
import { eventually } from './helpers/node-process.js';
import { startTrunkGroup, type TrunkGroup } from './helpers/trunk-group.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const remoteOf = (fileId: string) => fileId.slice(fileId.indexOf('/') + 1);

let group: TrunkGroup;
let client: FdfsClient;
const server = () => group.server();
const peer = () => group.peer();

const binlogOf = (base: string) => readFile(join(base, 'data', 'trunk', 'binlog'), 'latin1').catch(() => '');
const freeList = (node: StorageNode) =>
  (node.trunks.serverRole?.space.all() ?? []).map((b) => describeSlot(b.slot)).sort();

beforeAll(async () => {
  group = await startTrunkGroup(['127.0.0.4', '127.0.0.5'], {
    trunk_compress_binlog_interval: '1',
    trunk_compress_binlog_time_base: '00:00',
  });
  client = group.client;
}, 60_000);

afterAll(async () => {
  await group?.close();
});

describe('trunk binlog compression', () => {
  it('rewrites the binlog as the free list while uploads and deletes go on; the same list loads back', async () => {
    const live = new Map<string, Buffer>();
    const deleted: string[] = [];
    let largest = 0;
    const s = server();
    const runsBefore = s.node.trunks.compressRuns;
    // Uploads and deletes for a while (compressions run every second meanwhile).
    const until = Date.now() + 3500;
    let round = 0;
    while (Date.now() < until || s.node.trunks.compressRuns < runsBefore + 2) {
      const batch = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const data = randomBytes(100 + ((round * 8 + i) % 40) * 97);
          return { id: await client.upload(data, { ext: 'bin' }), data };
        }),
      );
      for (const { id, data } of batch) live.set(id, data);
      const gone = [...live.keys()].filter((_, i) => i % 3 === round % 3).slice(0, 3);
      for (const id of gone) {
        await client.delete(id);
        live.delete(id);
        deleted.push(id);
      }
      largest = Math.max(largest, s.node.trunks.binlog.size);
      round++;
    }
    // Quiet now: the next compression leaves A records of the free list, and nothing else.
    const runs = s.node.trunks.compressRuns;
    await eventually(async () => expect(s.node.trunks.compressRuns).toBeGreaterThanOrEqual(runs + 2), 20_000);
    const text = await binlogOf(s.base);
    const records = text.split('\n').filter(Boolean).map(parseTrunkRecord);
    expect(text.split('\n').filter((l) => !/^\d+ A /.test(l) && l !== '')).toEqual([]);
    expect(records.map((r) => describeSlot(r?.slot as TrunkSlot)).sort()).toEqual(freeList(s.node));
    expect(text.length).toBeLessThan(largest);
    // The peer's copy is made again from the new binlog.
    const p = peer();
    await eventually(async () => expect(await binlogOf(p.base)).toBe(text), 20_000);

    // Every file reads back. The closed trunk server's files give the list it had, from
    // storage_trunk.dat and from the binlog alone; the peer takes the role over from its copy
    // with the same list.
    for (const [id, data] of live) expect(sha(await client.downloadBuffer(id)), id).toBe(sha(data));
    // The peer has applied every delete: a file it still held would, rightly, be kept off the
    // list it takes over (a slot a file may live in is not handed out).
    await eventually(async () => {
      for (const id of deleted) {
        const info = client.pool.use(p.node.address, (conn) =>
          new StorageClient(conn).queryFileInfo('group1', remoteOf(id)),
        );
        await expect(info, id).rejects.toMatchObject({ status: 2 });
      }
    }, 30_000);
    const before = freeList(s.node);
    await s.node.close();
    group.nodes.delete(s.host);
    for (const reloadFromBinlog of [false, true]) {
      const binlog = new TrunkBinlog(join(s.base, 'data', 'trunk', 'binlog'), false);
      await binlog.open();
      const loaded = await loadFreeSpace(trunkDataPath(s.base), binlog, {
        slotMinSize: 256,
        storePathCount: 1,
        reloadFromBinlog,
      });
      await binlog.close();
      expect(
        loaded.space
          .all()
          .map((b) => describeSlot(b.slot))
          .sort(),
        `reload ${reloadFromBinlog}`,
      ).toEqual(before);
      expect(loaded.savedOffset).toBe(reloadFromBinlog ? 0 : text.length);
    }
    await eventually(async () => {
      if (!p.node.trunks.isServer) throw new Error('the peer is not the trunk server yet');
    }, 30_000);
    expect(freeList(p.node)).toEqual(before);
    // No live file's slot is listed free.
    const free = (p.node.trunks.serverRole?.space.all() ?? []).map((b) => b.slot);
    for (const id of live.keys()) {
      const slot = locate(remoteOf(id))?.slot;
      if (!slot) continue;
      const inside = free.find(
        (f) =>
          f.id === slot.id &&
          f.storePathIndex === slot.storePathIndex &&
          f.offset < slot.offset + slot.size &&
          slot.offset < f.offset + f.size,
      );
      expect(inside, id).toBeUndefined();
    }
    const data = randomBytes(3000);
    const id = await client.upload(data, { ext: 'bin' });
    expect((await client.downloadBuffer(id)).equals(data)).toBe(true);
  }, 120_000);
});
