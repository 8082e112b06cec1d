/**
 * Trunk files, the pure parts: the 24-byte header, trunk binlog lines, the free list, and the
 * trunk server's allocator, which must hand out the slots FastDFS handed out and log the same
 * records, so a stock storage can take over from its binlog and the other way round.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/common/index.js';
import { defaultTrackerConfig, trunkConfigFromParameters } from '../src/config/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import {
  FreeSpace,
  headerMatches,
  loadFreeSpace,
  locate,
  packHeader,
  parseTrunkLines,
  parseTrunkRecord,
  TrunkBinlog,
  TrunkFiles,
  TrunkServer,
  type TrunkSlot,
  TrunkWriter,
  unpackHeader,
} from '../src/storage/trunk/index.js';
import { parameterText } from '../src/tracker/index.js';
import { tempDir } from './helpers/node-process.js';
import { TRUNK_DATA, TRUNK_TRACKER_KEYS, trunkManifest, unpackTrunkStore } from './helpers/trunk-store.js';

const slot = (offset: number, size: number, id = 1, spi = 0): TrunkSlot => ({
  storePathIndex: spi,
  subdirHigh: 0,
  subdirLow: 0,
  id,
  offset,
  size,
});
const remoteOf = (fileId: string) => fileId.slice(fileId.indexOf('/') + 1);
const params = trunkConfigFromParameters(
  Object.entries(TRUNK_TRACKER_KEYS)
    .map(([k, v]) => `${k}=${v}\n`)
    .join(''),
);

describe('trunk settings', () => {
  const parse = (o: Record<string, string>) =>
    trunkConfigFromParameters(
      Object.entries(o)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );

  it("has FastDFS' defaults and corrections", () => {
    const d = parse({});
    expect(d).toMatchObject({
      useTrunkFile: false,
      slotMinSize: 256,
      trunkFileSize: 64 * 1024 * 1024,
      slotMaxSize: 8 * 1024 * 1024,
    });
    expect(parse({ trunk_file_size: '1MB' }).trunkFileSize).toBe(4 * 1024 * 1024);
    expect(parse({ slot_min_size: '100KB', slot_max_size: '1MB' }).slotMinSize).toBe(64 * 1024);
    expect(parse({ slot_min_size: '100', trunk_alloc_alignment_size: '512' }).slotMinSize).toBe(512);
    expect(parse({ trunk_file_size: '4MB', slot_max_size: '3MB' }).slotMaxSize).toBe(2 * 1024 * 1024);
    expect(() => parse({ slot_min_size: '4096', slot_max_size: '4096' })).toThrow(/slot_max_size/);
    expect(() => parse({ trunk_create_file_time_base: '25:00' })).toThrow(/HH:MM/);
  });

  it('travel from tracker.conf to the storages through cmd 75 unchanged', () => {
    const tracker = defaultTrackerConfig(
      new Map(
        Object.entries({ ...TRUNK_TRACKER_KEYS, trunk_create_file_interval: '3600' }).map(([k, v]) => [
          k,
          [v],
        ]),
      ),
    ).config;
    expect(tracker.trunk.useTrunkFile).toBe(true);
    // With trunk files, round robin over storages becomes "first by ip", as FastDFS does.
    expect(tracker.storeServer).toBe(1);
    expect(trunkConfigFromParameters(parameterText(tracker))).toEqual(tracker.trunk);
  });
});

describe('trunk header', () => {
  it('packs and unpacks the 24 bytes FastDFS writes', () => {
    const h = {
      fileType: 0x46,
      allocSize: 1024,
      fileSize: 1000,
      crc32: 0xdeadbeef,
      mtime: 1796545484,
      formattedExt: '823.jpg',
    };
    const b = packHeader(h);
    expect(b.length).toBe(24);
    expect(b.toString('hex')).toBe(
      ['46', '00000400', '000003e8', 'deadbeef', '6b151bcc', Buffer.from('823.jpg').toString('hex')].join(''),
    );
    expect(unpackHeader(b)).toEqual(h);
    expect(headerMatches(b, h)).toBe(true);
    expect(headerMatches(Buffer.alloc(24), h)).toBe(false);
    expect(headerMatches(packHeader({ ...h, crc32: 1 }), h)).toBe(false);
    expect(headerMatches(packHeader({ ...h, fileType: 0x4c }), h)).toBe(true); // a link counts
  });

  it('matches the header of every trunk file in the FastDFS store, and of none of the deleted', async () => {
    const store = await unpackTrunkStore();
    const trunk = await readFile(join(store, 'data', '00', '00', '000001'));
    for (const f of await trunkManifest()) {
      const loc = locate(remoteOf(f.fileId));
      if (!loc) continue;
      expect(loc.slot.id).toBe(1);
      expect(loc.header.fileSize).toBe(f.size);
      const onDisk = trunk.subarray(loc.slot.offset, loc.slot.offset + 24);
      expect(headerMatches(onDisk, loc.header), f.note).toBe(!f.deleted);
    }
  });

  it('reads only 60-char names with the trunk bit as trunk files', async () => {
    const byType = new Map(
      (await trunkManifest()).map((f) => [decodeRemoteFilename(remoteOf(f.fileId)).type, f]),
    );
    expect(locate(remoteOf(byType.get('trunk')?.fileId ?? ''))).toBeDefined();
    for (const t of ['normal', 'slave', 'appender'] as const)
      expect(locate(remoteOf(byType.get(t)?.fileId ?? '')), t).toBeUndefined();
  });
});

describe('trunk binlog lines', () => {
  it('reads FastDFS binlog and storage_trunk.dat lines, and nothing else', () => {
    expect(parseTrunkRecord('1796545196 A 0 0 0 1 256 4194048')).toEqual({
      ts: 1796545196,
      op: 'A',
      slot: slot(256, 4194048),
    });
    expect(parseTrunkRecord('1796545196 D 1 2 3 7 0 256')?.slot).toEqual({
      storePathIndex: 1,
      subdirHigh: 2,
      subdirLow: 3,
      id: 7,
      offset: 0,
      size: 256,
    });
    expect(parseTrunkRecord('0 0 0 1 512 256')).toEqual({ ts: 0, op: 'A', slot: slot(512, 256) }); // the .dat of V5.00
    for (const bad of [
      '',
      '1796545196 A 0 0 0 1 256',
      '1796545196 X 0 0 0 1 256 4',
      '1796545196 A 0 0 0 1 -5 256',
      '1796545196 A 0 0 0 1 0 0',
      '17965 A 0 0 0 1 25',
      '1796545196 A 300 0 0 1 0 256',
    ]) {
      expect(parseTrunkRecord(bad), bad).toBeUndefined();
    }
  });
});

describe('free list', () => {
  it('refuses a block overlapping a listed one', () => {
    const s = new FreeSpace();
    expect(s.add(slot(1024, 512))).toBe(true);
    expect(s.add(slot(1024, 512))).toBe(false);
    expect(s.add(slot(1280, 512))).toBe(false);
    expect(s.add(slot(768, 257))).toBe(false);
    expect(s.add(slot(768, 256))).toBe(true);
    expect(s.add(slot(1536, 256))).toBe(true);
    expect(s.add(slot(1024, 512, 2))).toBe(true); // another trunk file
    expect(s.count).toBe(4);
    expect(s.totalBytes).toBe(512 + 256 + 256 + 512);
  });

  it('hands out the smallest block that fits, the newest of that size first, never a held one', () => {
    const s = new FreeSpace();
    s.add(slot(0, 4096));
    s.add(slot(8192, 1024));
    s.add(slot(16384, 1024));
    s.add(slot(32768, 2048), 'hold');
    expect(s.take(0, 1000)).toEqual(slot(16384, 1024));
    expect(s.take(0, 1000)).toEqual(slot(8192, 1024));
    expect(s.take(0, 1025)).toEqual(slot(0, 4096));
    expect(s.take(0, 1)).toBeUndefined();
    expect(s.take(1, 1)).toBeUndefined();
    expect(s.count).toBe(1);
  });

  it('merges free blocks that touch, leaving held ones and gaps alone', () => {
    const s = new FreeSpace();
    for (const [o, n] of [
      [0, 256],
      [256, 512],
      [768, 256],
      [1280, 256],
      [1536, 256],
      [1792, 256],
    ] as const)
      s.add(slot(o, n));
    s.add(slot(1024, 256), 'hold');
    const joins = s.merge();
    expect(joins.map((j) => j.joined)).toEqual([slot(0, 1024), slot(1280, 768)]);
    expect(s.all().map((b) => [b.slot.offset, b.slot.size, b.status])).toEqual([
      [0, 1024, 'free'],
      [1024, 256, 'hold'],
      [1280, 768, 'free'],
    ]);
    expect(s.totalBytes).toBe(2048);
  });
});

/** The uploads and deletes make-store.mjs did, in order; the trunk-packed ones reach the trunk server. */
const SCRIPT = [
  ...[
    'small-0',
    'small-1',
    'small-100',
    'small-232',
    'small-233',
    'small-1000',
    'small-4096',
    'small-5000',
    'small-20000',
    'small-65000',
    'small-65512',
    'small-3000',
    'small-777',
    'small-12345',
    'no-ext',
    'long-ext',
    'big-65513',
    'big-200000',
    'meta-trunk',
    'meta-normal',
  ].map((n) => ['up', n]),
  ['del', 'small-1000'],
  ['del', 'small-20000'],
  ['del', 'big-65513'],
  ['up', 'meta-deleted'],
  ['del', 'meta-deleted'],
  ['restart', ''],
  ['up', 'after-restart-900'],
  ['up', 'after-restart-18000'],
  ['up', 'after-restart-300'],
  ['del', 'small-4096'],
] as const;

describe('trunk file syncs', () => {
  it('are shared: callers during a running fdatasync wait for one next one, together', async () => {
    const dir = await tempDir('fdfs-trunk-files-');
    const files = new TrunkFiles(true);
    const path = join(dir, '000001');
    await files.acquire(path, 4096);
    const calls = Array.from({ length: 10 }, () => files.sync(path));
    // The first starts a sync; the nine that came while it ran share the one after it.
    expect(new Set(calls).size).toBe(2);
    await Promise.all(calls);
    const later = files.sync(path);
    expect(calls).not.toContain(later);
    await later;
    files.release(path);
    await files.close();
  });
});

describe('the trunk writer thread', () => {
  it('leaves the caller its bytes: after a taken slot the same data goes into another', async () => {
    const dir = await tempDir('fdfs-trunk-writer-');
    const writer = TrunkWriter.start(false);
    try {
      const path = join(dir, '000001');
      // A buffer that spans its whole ArrayBuffer, as Buffer.concat makes for a body in pieces.
      const data = Buffer.from(new ArrayBuffer(5000)).fill(7);
      const header = Buffer.alloc(24, 1);
      const job = { path, fileSize: 64 * 1024, offset: 0, header, data };
      await writer.write(job);
      expect(data.length).toBe(5000);
      await expect(writer.write(job)).rejects.toMatchObject({ code: 'FDFS_ERR_EEXIST' });
      await writer.write({ ...job, offset: 8192 });
      const back = await readFile(path);
      expect(back.subarray(8192, 8192 + 24).equals(header)).toBe(true);
      expect(back.subarray(8192 + 24, 8192 + 24 + 5000).equals(data)).toBe(true);
      expect(data.every((b) => b === 7)).toBe(true);
    } finally {
      await writer.close();
    }
  });
  it('holds what comes while a batch is at the thread and sends it as the next batch', async () => {
    const dir = await tempDir('fdfs-trunk-batches-');
    const writer = TrunkWriter.start(true);
    try {
      const path = join(dir, '000001');
      const header = Buffer.alloc(24, 1);
      const data = Buffer.alloc(1000, 9);
      // One upload per turn of the event loop, as uploads arriving one by one are: each turn
      // used to become a batch (and an fdatasync) of its own.
      const done: Promise<void>[] = [];
      for (let i = 0; i < 64; i++) {
        done.push(writer.write({ path, fileSize: 1 << 20, offset: i * 1024, header, data }));
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(done);
      expect(writer.batches).toBeGreaterThan(1);
      expect(writer.batches).toBeLessThan(64);
      const back = await readFile(path);
      for (let i = 0; i < 64; i++)
        expect(back.subarray(i * 1024 + 24, i * 1024 + 1024).equals(data)).toBe(true);
    } finally {
      await writer.close();
    }
  });
});

describe('loading the free list', () => {
  it('tells slots handed out and never confirmed (a crash came between) from the rest', async () => {
    const base = await tempDir('fdfs-trunk-load-');
    const binlog = new TrunkBinlog(join(base, 'binlog'), false);
    await binlog.open();
    const A = (o: number, n: number) => ({ ts: 1, op: 'A' as const, slot: slot(o, n) });
    const D = (o: number, n: number) => ({ ts: 1, op: 'D' as const, slot: slot(o, n) });
    await binlog.append([
      A(0, 4096), // a new trunk file
      D(0, 4096),
      A(256, 3840),
      A(0, 256),
      D(0, 256), // handed out and confirmed
      D(256, 3840),
      A(768, 3328),
      A(256, 512), // handed out, no confirmation
      A(0, 256), // freed by a delete
      D(768, 3328),
      A(1024, 3072),
      A(768, 256), // handed out, no confirmation
      D(0, 256),
      D(1024, 3072),
      A(0, 256),
      A(1024, 3072), // two parts joined... of separate blocks: not a hand-out
    ]);
    const loaded = await loadFreeSpace(join(base, 'none.dat'), binlog, {
      slotMinSize: 256,
      storePathCount: 1,
      reloadFromBinlog: false,
    });
    expect(loaded.unconfirmed).toEqual([slot(256, 512), slot(768, 256)]);
    expect(loaded.space.all().map((b) => [b.slot.offset, b.slot.size])).toEqual([
      [0, 256],
      [256, 512],
      [768, 256],
      [1024, 3072],
    ]);
    await binlog.close();
  });
});

describe('trunk server', () => {
  it('allocates, confirms and frees exactly as FastDFS did, record for record', async () => {
    const files = new Map((await trunkManifest()).map((f) => [f.note, f]));
    const base = await tempDir('fdfs-trunk-alloc-');
    const binlog = new TrunkBinlog(join(base, 'binlog'), false);
    await binlog.open();
    const start = () =>
      TrunkServer.start({
        params,
        storeRoots: [base],
        binlog,
        dataPath: join(base, 'storage_trunk.dat'),
        durable: false,
        logger: silentLogger,
        nextId: async () => 1,
        subdirsFor: () => ({ high: 0, low: 0 }),
        now: () => 1,
      });
    let server = await start();
    const slots = new Map<string, TrunkSlot>();
    for (const [op, note] of SCRIPT) {
      if (op === 'restart') {
        await server.save();
        server = await start();
        continue;
      }
      const f = files.get(note);
      const loc = f && locate(remoteOf(f.fileId));
      if (!loc) continue; // a normal file: no trunk space
      if (op === 'up') {
        const got = await server.alloc(f.size + 24, 0);
        expect(got, note).toEqual(loc.slot);
        await server.confirm(got, 0);
        slots.set(note, got);
      } else {
        await server.free(slots.get(note) ?? loc.slot);
      }
    }
    await binlog.close();
    const strip = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => l.slice(l.indexOf(' ') + 1));
    const stock = await promisify(execFile)('tar', [
      '-xzOf',
      join(TRUNK_DATA, 'store.tar.gz'),
      './data/trunk/binlog',
    ]);
    expect(strip(await readFile(join(base, 'binlog'), 'latin1'))).toEqual(strip(stock.stdout));
    const records = parseTrunkLines(stock.stdout);
    expect(records.length).toBeGreaterThan(80);
  });

  it('gives a held slot back when the upload failed, and drops one a file already occupies', async () => {
    const base = await tempDir('fdfs-trunk-confirm-');
    const binlog = new TrunkBinlog(join(base, 'binlog'), false);
    await binlog.open();
    const server = await TrunkServer.start({
      params,
      storeRoots: [base],
      binlog,
      dataPath: join(base, 'storage_trunk.dat'),
      durable: false,
      logger: silentLogger,
      nextId: async () => 7,
      subdirsFor: () => ({ high: 1, low: 2 }),
    });
    const a = await server.alloc(1000, 0);
    expect(a).toEqual({ storePathIndex: 0, subdirHigh: 1, subdirLow: 2, id: 7, offset: 0, size: 1024 });
    await server.confirm(a, 5); // EIO: the slot is free again and handed out next
    const b = await server.alloc(1000, 0);
    expect(b).toEqual(a);
    await server.confirm(b, 17); // EEXIST: gone from the list for good
    expect(server.space.find(b)).toBeUndefined();
    const c = await server.alloc(1000, 0);
    expect(c.offset).toBe(1024);
    await expect(server.confirm(a, 0)).rejects.toMatchObject({ status: 2 });
    // Freeing space that overlaps a listed block (c is held at 1024..2048) is EEXIST, as FastDFS.
    await expect(server.free({ ...c, offset: 1536, size: 256 })).rejects.toMatchObject({ status: 17 });
    await binlog.close();
  });
});
