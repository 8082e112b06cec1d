/**
 * Writing trunk files: with use_trunk_file on, uploads up to slot_max_size (header included) go
 * into trunk slots and come back byte for byte through npm `fdfs` and our client; bigger files,
 * appenders and slaves stay normal files; deletes give the slot back for the next upload; and the
 * free list the trunk server saves and reloads is the one it had.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import FdfsNpm from 'fdfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { locate, parseTrunkLines, type TrunkSlot, trunkFilePath } from '../src/storage/trunk/index.js';
import { eventually, startNode, tempDir } from './helpers/node-process.js';
import { serveTrunkStore, TRUNK_TRACKER_KEYS, type TrunkCluster } from './helpers/trunk-store.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const remoteOf = (fileId: string) => fileId.slice(fileId.indexOf('/') + 1);
const slotKey = (s: TrunkSlot) =>
  `${s.storePathIndex}/${s.subdirHigh}/${s.subdirLow}/${s.id}@${s.offset}+${s.size}`;
const quiet = { log() {} };

let c: TrunkCluster;
let npm: FdfsNpm;

async function npmDownload(fileId: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const target = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  await npm.download(fileId, { target });
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  c = await serveTrunkStore(await tempDir('fdfs-trunk-write-'));
  npm = new FdfsNpm({
    trackers: [{ host: '127.0.0.1', port: c.tracker.address.port }],
    timeout: 10_000,
    logger: quiet,
  });
}, 60_000);

afterAll(async () => {
  await c?.close();
});

describe('uploads into trunk files', () => {
  it('packs small files into trunk slots and serves them back byte for byte', async () => {
    const sizes = [1, 100, 232, 233, 4096, 20_000, 65_512];
    const ids: { id: string; data: Buffer }[] = [];
    for (const [i, n] of sizes.entries()) {
      const data = randomBytes(n);
      const id = i % 2 ? await npm.upload(data, { ext: 'bin' }) : await c.client.upload(data, { ext: 'jpg' });
      ids.push({ id, data });
    }
    for (const { id, data } of ids) {
      const d = decodeRemoteFilename(remoteOf(id));
      expect(d.type, id).toBe('trunk');
      expect(d.size).toBe(data.length);
      expect(sha(await c.client.downloadBuffer(id))).toBe(sha(data));
      expect(sha(await npmDownload(id))).toBe(sha(data));
      const info = await npm.getFileInfo(id);
      expect(info.size).toBe(data.length);
    }
    // One trunk file, slots one after another, rounded up to 256 (slot_min_size, alignment).
    const slots = ids.map(({ id }) => locate(remoteOf(id))?.slot as TrunkSlot);
    expect(new Set(slots.map((s) => s.id)).size).toBe(1);
    for (let i = 1; i < slots.length; i++) {
      const prev = slots[i - 1] as TrunkSlot;
      expect(slots[i]?.offset).toBe(prev.offset + prev.size);
    }
    expect(slots.map((s) => s.size)).toEqual([256, 256, 256, 512, 4352, 20_224, 65_536]);
  });

  it('keeps bigger files, appenders and slaves as normal files', async () => {
    const big = await npm.upload(randomBytes(65_513), { ext: 'bin' });
    expect(decodeRemoteFilename(remoteOf(big)).type).toBe('normal');
    const appender = await c.client.upload(randomBytes(10), { ext: 'log', appender: true });
    expect(decodeRemoteFilename(remoteOf(appender)).type).toBe('appender');
    const master = await c.client.upload(randomBytes(300), { ext: 'png' });
    expect(decodeRemoteFilename(remoteOf(master)).type).toBe('trunk');
    const thumb = randomBytes(77);
    const slave = await c.client.uploadSlave(master, thumb, { prefix: '_s', ext: 'png' });
    expect(decodeRemoteFilename(remoteOf(slave)).type).toBe('slave');
    expect((await c.client.downloadBuffer(slave)).equals(thumb)).toBe(true);
    await c.client.setMetadata(master, { w: '1', h: '2' });
    expect(await c.client.getMetadata(master)).toEqual({ w: '1', h: '2' });
  });

  it("gives a deleted file's slot to the next upload that fits it", async () => {
    const a = await c.client.upload(randomBytes(3000), { ext: 'a' });
    const b = await c.client.upload(randomBytes(3000), { ext: 'b' });
    const slotA = locate(remoteOf(a))?.slot as TrunkSlot;
    await c.client.delete(a);
    const data = randomBytes(2900);
    const again = await c.client.upload(data, { ext: 'c' });
    expect(slotKey(locate(remoteOf(again))?.slot as TrunkSlot)).toBe(slotKey(slotA));
    expect((await c.client.downloadBuffer(again)).equals(data)).toBe(true);
    expect((await c.client.downloadBuffer(b)).length).toBe(3000);
  });

  it('logs every slot it hands out and takes back, so a saved and reloaded list is the same', async () => {
    const server = c.storage.trunks.serverRole;
    if (!server) throw new Error('not the trunk server');
    const before = server.space
      .all()
      .map((b) => slotKey(b.slot))
      .sort();
    // Replaying the whole trunk binlog from nothing gives the list the server holds.
    const { FreeSpace } = await import('../src/storage/trunk/index.js');
    const replay = new FreeSpace();
    await c.storage.trunks.binlog.settled();
    for (const r of parseTrunkLines(await readFile(join(c.store, 'data', 'trunk', 'binlog'), 'latin1'))) {
      if (r.op === 'A') replay.add(r.slot);
      else replay.remove(r.slot);
    }
    expect(
      replay
        .all()
        .map((b) => slotKey(b.slot))
        .sort(),
    ).toEqual(before);
    expect(before.length).toBeGreaterThan(0);
  });
});

describe('a trunk upload bigger than the writer thread takes (slot_max_size = 1 MB)', () => {
  it('streams into its slot and reads back', async () => {
    const big = await serveTrunkStore(await tempDir('fdfs-trunk-write-big-'), {
      tracker: { slot_max_size: '1MB' },
    });
    try {
      const data = randomBytes(700_000);
      const id = await big.client.upload(data, { ext: 'bin' });
      expect(decodeRemoteFilename(remoteOf(id)).type).toBe('trunk');
      expect(sha(await big.client.downloadBuffer(id))).toBe(sha(data));
      const part = await big.client.downloadBuffer(id, { offset: 300_000, length: 1000 });
      expect(part.equals(data.subarray(300_000, 301_000))).toBe(true);
    } finally {
      await big.close();
    }
  }, 60_000);
});

describe('slots listed free that hold a header (uploads a crash cut off before their answer)', () => {
  it('skips them, and past a few stores the upload as a normal file instead of failing it', async () => {
    const dirty = await serveTrunkStore(await tempDir('fdfs-trunk-write-dirty-'));
    try {
      const probe = await dirty.client.upload(randomBytes(100), { ext: 'bin' });
      const at = locate(remoteOf(probe))?.slot as TrunkSlot;
      // The next 16 slots of 256 bytes, where the next uploads go, look taken.
      const fh = await open(trunkFilePath(dirty.store, at), 'r+');
      await fh.write(Buffer.alloc(16 * 256, 1), 0, 16 * 256, at.offset + at.size);
      await fh.close();
      const data = randomBytes(100);
      const id = await dirty.client.upload(data, { ext: 'bin' });
      expect(decodeRemoteFilename(remoteOf(id)).type).toBe('normal');
      expect((await dirty.client.downloadBuffer(id)).equals(data)).toBe(true);
      // Each try takes an occupied slot off the free list (five per upload): the fourth upload
      // packs again, into the first slot past them.
      const kinds: string[] = [];
      let packed: TrunkSlot | undefined;
      for (let i = 0; i < 3 && !packed; i++) {
        const next = await dirty.client.upload(data, { ext: 'bin' });
        kinds.push(decodeRemoteFilename(remoteOf(next)).type);
        packed = locate(remoteOf(next))?.slot;
      }
      expect(kinds).toEqual(['normal', 'normal', 'trunk']);
      expect(packed?.offset).toBe(at.offset + at.size + 16 * 256);
    } finally {
      await dirty.close();
    }
  }, 60_000);
});

describe('trunk files ahead of need (trunk_create_file_advance)', () => {
  it('are made by the scheduled runs until the free list holds the threshold, then used', async () => {
    const MB = 1024 * 1024;
    const ahead = await serveTrunkStore(await tempDir('fdfs-trunk-ahead-'), {
      tracker: {
        trunk_create_file_advance: 'true',
        trunk_create_file_time_base: '00:00',
        trunk_create_file_interval: '1',
        trunk_create_file_space_threshold: '13MB',
      },
    });
    try {
      const trunks = ahead.storage.trunks;
      // FastDFS' count: (13 MB - 0 free) / 4 MB, rounded down: three files before any upload.
      await eventually(async () => expect(trunks.serverRole?.freeBytes).toBe(12 * MB));
      const made = await trunkFileIds(ahead.store);
      expect(made).toHaveLength(3);
      // Later runs find less than a file's worth missing and make nothing.
      const runs = trunks.aheadRuns;
      await eventually(async () => expect(trunks.aheadRuns).toBeGreaterThanOrEqual(runs + 2));
      const id = await ahead.client.upload(randomBytes(1000), { ext: 'bin' });
      expect(made).toContain(locate(remoteOf(id))?.slot.id);
      expect(await trunkFileIds(ahead.store)).toEqual(made);
      expect(trunks.serverRole?.freeBytes).toBe(12 * MB - 1024); // 1,000 bytes + the 24-byte header, in 256-byte steps
    } finally {
      await ahead.close();
    }
  }, 60_000);

  it('are not made when the key is off (the default)', async () => {
    expect(c.storage.trunks.aheadRuns).toBe(0);
  });
});

/** The ids of the trunk files under `store`'s data/HH/LL folders. */
async function trunkFileIds(store: string): Promise<number[]> {
  const ids: number[] = [];
  for (const entry of await readdir(join(store, 'data'), { recursive: true })) {
    const m = /^[0-9A-F]{2}\/[0-9A-F]{2}\/(\d{6})$/.exec(entry);
    if (m) ids.push(Number(m[1]));
  }
  return ids.sort((a, b) => a - b);
}

describe('HTTP uploads into trunk files (fdfs start, gateway beside the storage)', () => {
  it('packs a multipart part that ends within a slot, streams a bigger one to a normal file', async () => {
    const node = await startNode({
      args: Object.entries(TRUNK_TRACKER_KEYS).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    });
    try {
      const base = `http://${node.http.host}:${node.http.port}`;
      const post = async (data: Buffer): Promise<string> => {
        const form = new FormData();
        form.append('file', new Blob([data]), 'photo.jpg');
        const res = await fetch(`${base}/upload`, { method: 'POST', body: form });
        expect(res.status).toBe(200);
        return ((await res.json()) as { files: { fileId: string }[] }).files[0]?.fileId as string;
      };
      // Packed once the storage is the trunk server (before that, small files are normal files).
      await eventually(async () => {
        const probe = await post(Buffer.from('probe'));
        expect(decodeRemoteFilename(remoteOf(probe)).type).toBe('trunk');
      }, 30_000);
      // 65,512 bytes + the 24-byte header fill a 64 KB slot; one byte more does not fit.
      for (const [size, type] of [
        [1, 'trunk'],
        [5000, 'trunk'],
        [65_512, 'trunk'],
        [65_513, 'normal'],
        [3_000_000, 'normal'],
      ] as const) {
        const data = randomBytes(size);
        const id = await post(data);
        expect(decodeRemoteFilename(remoteOf(id)).type, `${size} bytes`).toBe(type);
        const back = Buffer.from(await (await fetch(`${base}/${id}`)).arrayBuffer());
        expect(sha(back), `${size} bytes`).toBe(sha(data));
      }
    } finally {
      await node.stop();
    }
  }, 60_000);
});
