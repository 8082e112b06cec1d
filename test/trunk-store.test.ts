/**
 * A storage directory FastDFS 6.16.1 wrote with trunk files on (test/data/trunk-store, see its
 * README) served as is by our storage: every file byte for byte through npm `fdfs` and our
 * client, ranges, file info, metadata; deleted files stay gone; the trunk server loads the free
 * list FastDFS itself loads from that store; a delete zeroes the slot and frees it as FastDFS does.
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import FdfsNpm from 'fdfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsError } from '../src/common/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { parseTrunkLines, type TrunkSlot } from '../src/storage/trunk/index.js';
import { type Proc, startStorageProc, startTrackerProc } from './helpers/cluster.js';
import { eventually } from './helpers/node-process.js';
import {
  type ManifestFile,
  serveTrunkStore,
  TRUNK_DATA,
  TRUNK_TRACKER_KEYS,
  type TrunkCluster,
  trunkManifest,
  unpackTrunkStore,
} from './helpers/trunk-store.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const remoteOf = (fileId: string) => fileId.slice(fileId.indexOf('/') + 1);
const quiet = { log() {} };

let c: TrunkCluster;
let files: ManifestFile[];
let npm: FdfsNpm;

async function npmDownload(fileId: string, offset?: number, bytes?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const target = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  await npm.download(fileId, { target, ...(offset ? { offset } : {}), ...(bytes ? { bytes } : {}) });
  return Buffer.concat(chunks);
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (err instanceof FdfsError) return err.status;
    // npm fdfs: "receive packet errno is: 2"
    const m = /errno is: (\d+)/.exec(String((err as Error).message));
    if (m) return Number(m[1]);
    throw err;
  }
}

const slotKey = (s: TrunkSlot) =>
  `${s.storePathIndex}/${s.subdirHigh}/${s.subdirLow}/${s.id}@${s.offset}+${s.size}`;

beforeAll(async () => {
  files = await trunkManifest();
  c = await serveTrunkStore(await unpackTrunkStore());
  npm = new FdfsNpm({
    trackers: [{ host: '127.0.0.1', port: c.tracker.address.port }],
    timeout: 10_000,
    logger: quiet,
  });
}, 60_000);

afterAll(async () => {
  await c?.close();
});

describe('a trunk store written by FastDFS 6.16.1, served as is', () => {
  it('holds what the manifest says: trunk-packed files, normal files, slaves, an appender', () => {
    const types = new Set(files.map((f) => decodeRemoteFilename(remoteOf(f.fileId)).type));
    expect(types).toEqual(new Set(['trunk', 'normal', 'slave', 'appender']));
    expect(files.filter((f) => f.deleted).length).toBeGreaterThanOrEqual(3);
  });

  it('serves every live file byte for byte through our client and npm fdfs', async () => {
    for (const f of files.filter((x) => !x.deleted && x.size > 0)) {
      const ours = await c.client.downloadBuffer(f.fileId);
      expect(sha(ours), `${f.note} via our client`).toBe(f.sha256);
      expect(sha(await npmDownload(f.fileId)), `${f.note} via npm fdfs`).toBe(f.sha256);
    }
  });

  it('serves ranges of trunk-packed files', async () => {
    for (const f of files.filter(
      (x) => !x.deleted && x.size > 100 && x.fileId.length === 'group1/'.length + 60,
    )) {
      const whole = await c.client.downloadBuffer(f.fileId);
      const from = Math.floor(f.size / 3);
      const len = Math.min(77, f.size - from);
      expect(
        (await c.client.downloadBuffer(f.fileId, { offset: from, length: len })).equals(
          whole.subarray(from, from + len),
        ),
      ).toBe(true);
      expect((await npmDownload(f.fileId, from, len)).equals(whole.subarray(from, from + len))).toBe(true);
      // A length past the end is cut at it; the tail alone comes back.
      expect(
        (await c.client.downloadBuffer(f.fileId, { offset: f.size - 5 })).equals(whole.subarray(f.size - 5)),
      ).toBe(true);
    }
  });

  it('answers file info from the server (size, crc32, time) and metadata as stored', async () => {
    for (const f of files.filter((x) => !x.deleted)) {
      const d = decodeRemoteFilename(remoteOf(f.fileId));
      const info = await npm.getFileInfo(f.fileId);
      expect(info.size, f.note).toBe(f.size);
      if (d.type === 'trunk' || d.type === 'normal') {
        expect(info.crc32 >>> 0, f.note).toBe(d.crc32);
      }
      if (d.type === 'trunk') expect(info.timestamp, f.note).toBe(d.timestamp);
      if (f.metadata) expect(await c.client.getMetadata(f.fileId), f.note).toEqual(f.metadata);
    }
  });

  it('knows nothing of the deleted files', async () => {
    for (const f of files.filter((x) => x.deleted)) {
      expect(await status(c.client.downloadBuffer(f.fileId)), f.note).toBe(2);
      expect(await status(c.client.fileInfo(f.fileId, { fromServer: true })), f.note).toBe(2);
      // npm fdfs passes the storage's answer on; ours reads a missing file's metadata as {}.
      expect(await status(npm.getMetaData(f.fileId)), f.note).toBe(2);
    }
  });

  it('loads the free list FastDFS loads from the same store', async () => {
    const expected = parseTrunkLines(
      (await readFile(join(TRUNK_DATA, 'expected-storage_trunk.dat'), 'latin1'))
        .split('\n')
        .slice(1)
        .join('\n'),
    ).map((r) => slotKey(r.slot));
    const server = c.storage.trunks.serverRole;
    expect(server).toBeDefined();
    expect(
      server?.space
        .all()
        .map((b) => slotKey(b.slot))
        .sort(),
    ).toEqual(expected.sort());
    // The .data_init_flag keys FastDFS wrote survive our rewrites of the file.
    const flag = await readFile(join(c.store, 'data', '.data_init_flag'), 'utf8');
    expect(flag).toMatch(/^current_trunk_file_id=1$/m);
    expect(flag).toMatch(/^store_path_mark0=/m);
  });

  it('deletes a trunk-packed file: gone, its slot zeroed and back on the free list with an A record', async () => {
    const f = files.find((x) => x.note === 'small-5000') as ManifestFile;
    const remote = remoteOf(f.fileId);
    const t = decodeRemoteFilename(remote).trunk;
    if (!t) throw new Error('not a trunk name');
    const slot: TrunkSlot = {
      storePathIndex: 0,
      subdirHigh: 0,
      subdirLow: 0,
      id: t.trunkFileId,
      offset: t.offset,
      size: t.allocSize,
    };
    const trunkFile = join(c.store, 'data', '00', '00', '000001');
    const before = await readFile(trunkFile);
    expect(before.subarray(t.offset, t.offset + 24).some((b) => b !== 0)).toBe(true);

    await npm.del(f.fileId);

    expect(await status(c.client.downloadBuffer(f.fileId))).toBe(2);
    const after = await readFile(trunkFile);
    expect(after.subarray(t.offset, t.offset + t.allocSize).every((b) => b === 0)).toBe(true);
    // Nothing outside the slot changed.
    expect(after.subarray(0, t.offset).equals(before.subarray(0, t.offset))).toBe(true);
    expect(after.subarray(t.offset + t.allocSize).equals(before.subarray(t.offset + t.allocSize))).toBe(true);
    const trunkLog = parseTrunkLines(await readFile(join(c.store, 'data', 'trunk', 'binlog'), 'latin1'));
    const last = trunkLog.at(-1);
    expect(last?.op).toBe('A');
    expect(last && slotKey(last.slot)).toBe(slotKey(slot));
    expect(c.storage.trunks.serverRole?.space.find(slot)?.status).toBe('free');
    const binlog = await readFile(join(c.store, 'data', 'sync', 'binlog.000'), 'utf8');
    expect(binlog.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^\\d+ D ${remote}$`));
    // Deleting it again is ENOENT, and frees nothing twice.
    expect(await status(c.client.delete(f.fileId))).toBe(2);
  });

  it('takes new uploads beside the old files', async () => {
    const data = Buffer.from('a new file next to the trunk store');
    const id = await npm.upload(data, { ext: 'txt' });
    expect((await c.client.downloadBuffer(id)).equals(data)).toBe(true);
  });
});

describe('a trunk delete cut short by a crash', () => {
  it('is finished at start: the logged file is zeroed and its slot given back once the role is known', async () => {
    const store = await unpackTrunkStore();
    const f = files.find((x) => x.note === 'small-12345') as ManifestFile;
    const remote = remoteOf(f.fileId);
    const t = decodeRemoteFilename(remote).trunk;
    if (!t) throw new Error('not a trunk name');
    // The D record reached the binlog; the crash came before the slot was zeroed.
    await appendFile(
      join(store, 'data', 'sync', 'binlog.000'),
      `${Math.floor(Date.now() / 1000)} D ${remote}\n`,
    );
    const x = await serveTrunkStore(store);
    try {
      const trunk = await readFile(join(store, 'data', '00', '00', '000001'));
      expect(trunk.subarray(t.offset, t.offset + t.allocSize).every((b) => b === 0)).toBe(true);
      expect(await status(x.client.downloadBuffer(f.fileId))).toBe(2);
      const slot: TrunkSlot = {
        storePathIndex: 0,
        subdirHigh: 0,
        subdirLow: 0,
        id: t.trunkFileId,
        offset: t.offset,
        size: t.allocSize,
      };
      await eventually(async () => {
        if (x.storage.trunks.serverRole?.space.find(slot)?.status !== 'free')
          throw new Error('not given back yet');
      });
      // Another file of the same trunk file is untouched.
      const other = files.find((y) => y.note === 'small-777') as ManifestFile;
      expect(sha(await x.client.downloadBuffer(other.fileId))).toBe(other.sha256);
    } finally {
      await x.close();
    }
  }, 60_000);
});

describe('a free list that lost the record taking a slot (crash after the answer)', () => {
  it("is set right at load from the binlog: the named file's slot comes off the list", async () => {
    const store = await unpackTrunkStore();
    const f = files.find((x) => x.note === 'small-777') as ManifestFile;
    const t = decodeRemoteFilename(remoteOf(f.fileId)).trunk;
    if (!t) throw new Error('not a trunk name');
    const slot: TrunkSlot = {
      storePathIndex: 0,
      subdirHigh: 0,
      subdirLow: 0,
      id: t.trunkFileId,
      offset: t.offset,
      size: t.allocSize,
    };
    // As if the D record never reached the disk: the trunk binlog lists the live file's slot free.
    await appendFile(
      join(store, 'data', 'trunk', 'binlog'),
      `${Math.floor(Date.now() / 1000)} A 0 0 0 ${t.trunkFileId} ${t.offset} ${t.allocSize}\n`,
    );
    const x = await serveTrunkStore(store);
    try {
      expect(x.storage.trunks.serverRole?.space.find(slot)).toBeUndefined();
      expect(x.storage.trunks.serverRole?.space.covering(slot)).toBeUndefined();
      // Uploads that would fit the slot do not land on it.
      for (let i = 0; i < 4; i++) {
        const id = await x.client.upload(Buffer.alloc(f.size, i), { ext: 'bin' });
        expect(decodeRemoteFilename(remoteOf(id)).trunk?.offset).not.toBe(t.offset);
      }
      expect(sha(await x.client.downloadBuffer(f.fileId))).toBe(f.sha256);
    } finally {
      await x.close();
    }
  }, 60_000);
});

describe('the trunk store behind `fdfs storage --http-port` (processes, HTTP)', () => {
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
  });

  it('serves trunk-packed files over HTTP, whole and by Range; deleted ones are 404', async () => {
    const tracker = await startTrackerProc({
      sets: Object.entries(TRUNK_TRACKER_KEYS).map(([k, v]) => `${k}=${v}`),
    });
    procs.push(tracker);
    const store = await unpackTrunkStore();
    const storage = await startStorageProc({
      host: '127.0.0.51',
      group: 'group1',
      trackers: [tracker],
      base: store,
      httpPort: 0,
      sets: [`store_path0=${store}`],
    });
    procs.push(storage);
    const url = (f: ManifestFile) => `http://${storage.http?.host}:${storage.http?.port}/${f.fileId}`;
    const trunkFiles = files.filter((f) => f.fileId.length === 'group1/'.length + 60);
    await eventually(async () => {
      const r = await fetch(url(trunkFiles.find((f) => !f.deleted && f.size > 0) as ManifestFile));
      if (r.status !== 200) throw new Error(`status ${r.status}`);
    });
    for (const f of trunkFiles) {
      const res = await fetch(url(f));
      if (f.deleted) {
        expect(res.status, f.note).toBe(404);
        await res.arrayBuffer();
        continue;
      }
      expect(res.status, f.note).toBe(200);
      expect(sha(Buffer.from(await res.arrayBuffer())), f.note).toBe(f.sha256);
      if (f.size > 10) {
        const part = await fetch(url(f), { headers: { Range: 'bytes=3-9' } });
        expect(part.status, f.note).toBe(206);
        expect(part.headers.get('content-range')).toBe(`bytes 3-9/${f.size}`);
        expect(Buffer.from(await part.arrayBuffer()).length).toBe(7);
      }
    }
  }, 60_000);
});
