/**
 * Edge cases found by `npm run mutate` over src/protocol: every body codec round-trips, each
 * length check holds at its boundary, and errors say which field and which sizes.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  BodyReader,
  BodyWriter,
  Cmd,
  cmdName,
  decodeDiskUsage,
  decodeDownload,
  decodeFetch,
  decodeFileInfo,
  decodeGroupAndName,
  decodeGroupStats,
  decodeHeader,
  decodeJoin,
  decodeJoinReply,
  decodeServerId,
  decodeSetMetadata,
  decodeSlaveFixed,
  decodeStatusReport,
  decodeStorageIdsReply,
  decodeStorageStats,
  decodeStoreAll,
  decodeStoreOne,
  decodeSyncDelete,
  decodeSyncFileHead,
  decodeSyncPair,
  decodeSyncRangeHead,
  decodeSyncReport,
  decodeSyncSource,
  decodeSyncSrcQuery,
  decodeSyncStatus,
  decodeSyncStatusQuery,
  decodeUploadPrefix,
  decodeUploadReply,
  decodeWatermark,
  emptyCounters,
  encodeAppendPrefix,
  encodeCounters,
  encodeDiskUsage,
  encodeDownload,
  encodeFetch,
  encodeFileInfo,
  encodeGroupAndName,
  encodeGroupStat,
  encodeHeader,
  encodeJoin,
  encodeJoinReply,
  encodePacket,
  encodeServerId,
  encodeSetMetadata,
  encodeSlavePrefix,
  encodeStatusReport,
  encodeStorageIdsReply,
  encodeStorageStat,
  encodeStoreAll,
  encodeStoreOne,
  encodeSyncDelete,
  encodeSyncFile,
  encodeSyncPair,
  encodeSyncRange,
  encodeSyncReport,
  encodeSyncSource,
  encodeSyncSrcQuery,
  encodeSyncStatus,
  encodeSyncStatusQuery,
  encodeTruncate,
  encodeUploadPrefix,
  encodeUploadReply,
  encodeWatermark,
  FdfsError,
  FrameReader,
  fixedString,
  type GroupStat,
  type JoinRequest,
  mergeMetadata,
  packMetadata,
  STAT_COUNTER_NAMES,
  STATUS_REPORT_SIZE,
  type StorageStat,
  StorageStatus,
  storageStatusName,
  unpackMetadata,
} from '../src/protocol/index.js';

/** The FdfsError `fn` throws, checked to carry `status`. */
function fdfsError(fn: () => unknown, status = 22): FdfsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FdfsError);
  expect((caught as FdfsError).status).toBe(status);
  return caught as FdfsError;
}

function chunks(...parts: (string | Buffer)[]): AsyncIterable<Buffer> {
  return Readable.from(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

/** A query-reply IP field of `width` bytes holding `ip`. */
function ipField(ip: string, width = 15): Buffer {
  return fixedString(ip, width);
}

function int64(v: number | bigint): Buffer {
  return new BodyWriter(8).int64(v).buf;
}

describe('names of commands and statuses', () => {
  it.each([
    [Cmd.UPLOAD_FILE, 'UPLOAD_FILE'],
    [Cmd.TRACKER_SYNC_STATUS, 'TRACKER_SYNC_STATUS'],
    [250, 'CMD_250'],
  ])('cmd %i is %s', (cmd, name) => {
    expect(cmdName(cmd)).toBe(name);
  });

  it.each([
    [StorageStatus.ACTIVE, 'ACTIVE'],
    [StorageStatus.NONE, 'NONE'],
    [42, 'STATUS_42'],
  ])('storage status %i is %s', (s, name) => {
    expect(storageStatusName(s)).toBe(name);
  });
});

describe('header edges', () => {
  it('encodes length, cmd and status big-endian in 10 bytes', () => {
    expect(encodeHeader(0x0102, 11, 2).toString('hex')).toBe('0000000000000102' + '0b' + '02');
    expect(encodeHeader(5, 11).readUInt8(9)).toBe(0);
    // a number past 32 bits goes out in two halves, as a bigint does
    expect(encodeHeader(2 ** 40 + 5, 11).toString('hex')).toBe('0000010000000005' + '0b' + '00');
    expect(encodeHeader(Number.MAX_SAFE_INTEGER, 11)).toEqual(
      encodeHeader(BigInt(Number.MAX_SAFE_INTEGER), 11),
    );
    expect(decodeHeader(encodeHeader(2 ** 40 + 5, 11)).length).toBe(2 ** 40 + 5);
  });

  it.each([
    [0n, 0],
    [BigInt(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
  ])('accepts length %s', (raw, want) => {
    expect(decodeHeader(encodeHeader(raw, 100, 2))).toEqual({ length: want, cmd: 100, status: 2 });
  });

  it.each([-1n, BigInt(Number.MAX_SAFE_INTEGER) + 1n])('refuses length %s, naming it and the peer', (raw) => {
    const err = fdfsError(() => decodeHeader(encodeHeader(raw, 11), '10.0.0.1:23000'));
    expect(err.message).toBe(`invalid packet length ${raw}`);
    expect(err.peer).toBe('10.0.0.1:23000');
    expect(fdfsError(() => decodeHeader(encodeHeader(raw, 11))).peer).toBeUndefined();
  });

  it('sends header and body in one buffer, and a header alone for no body', () => {
    const p = encodePacket(100, Buffer.from('abc'), 2);
    expect(p.length).toBe(13);
    expect(decodeHeader(p)).toEqual({ length: 3, cmd: 100, status: 2 });
    expect(p.subarray(10).toString()).toBe('abc');
    expect(encodePacket(100, Buffer.alloc(0))).toEqual(encodeHeader(0, 100));
    expect(encodePacket(100, undefined)).toEqual(encodeHeader(0, 100));
  });
});

describe('BodyWriter / BodyReader', () => {
  it('writes each width at the running offset', () => {
    const w = new BodyWriter(8 + 4 + 1 + 4 + 2 + 3);
    w.int64(-2).int32(-3).uint8(0x1ff).fixed('abcdef', 4).bytes(Uint8Array.of(9, 8)).string('xyz');
    expect(w.offset).toBe(22);
    const r = new BodyReader(w.buf);
    expect(r.int64()).toBe(-2);
    expect(r.int32()).toBe(-3);
    expect(r.uint8()).toBe(0xff);
    expect(r.fixed(4)).toBe('abcd');
    expect([...r.bytes(2)]).toEqual([9, 8]);
    expect(r.remaining).toBe(3);
    expect(r.string(3)).toBe('xyz');
    expect(r.remaining).toBe(0);
  });

  it('pads fixed fields with NUL and reads up to the first NUL', () => {
    expect(fixedString('ab', 4)).toEqual(Buffer.from([0x61, 0x62, 0, 0]));
    expect(new BodyReader(Buffer.from('ab\0cd')).fixed(5)).toBe('ab');
    expect(new BodyReader(Buffer.from('abcde')).fixed(5)).toBe('abcde');
  });

  it('reads the rest and leaves nothing', () => {
    const r = new BodyReader(Buffer.from('abcdef'));
    r.bytes(2);
    expect(r.rest().toString()).toBe('cdef');
    expect(r.remaining).toBe(0);
    expect(r.rest().length).toBe(0);
  });

  it.each<[string, (r: BodyReader) => unknown, number]>([
    ['int64', (r) => r.int64(), 8],
    ['int64Big', (r) => r.int64Big(), 8],
    ['int32', (r) => r.int32(), 4],
    ['uint8', (r) => r.uint8(), 1],
    ['fixed', (r) => r.fixed(3), 3],
    ['bytes', (r) => r.bytes(3), 3],
  ])('%s reads exactly its width and refuses one byte less', (_name, read, width) => {
    expect(() => read(new BodyReader(Buffer.alloc(width)))).not.toThrow();
    const err = fdfsError(() => read(new BodyReader(Buffer.alloc(width - 1), 'probe')));
    expect(err.message).toBe(`probe: body too short (need ${width}, have ${width - 1})`);
  });

  it('names "packet" when no body name is given', () => {
    expect(fdfsError(() => new BodyReader(Buffer.alloc(0)).uint8()).message).toBe(
      'packet: body too short (need 1, have 0)',
    );
  });

  it.each([
    [0n, 0],
    [BigInt(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER],
  ])('length() accepts %s', (v, want) => {
    expect(new BodyReader(int64(v)).length('size')).toBe(want);
  });

  it.each([-1n, BigInt(Number.MAX_SAFE_INTEGER) + 1n])('length() refuses %s, naming the field', (v) => {
    const err = fdfsError(() => new BodyReader(int64(v), 'upload').length('file size'));
    expect(err.message).toBe(`upload: invalid file size ${v}`);
  });
});

describe('metadata edges', () => {
  it('sorts names by their UTF-8 bytes, as FastDFS compares them', () => {
    const packed = packMetadata({ '\u{1F600}': 'b', '\uFFFD': 'a', B: 'c', a: 'd' });
    const names = packed
      .toString('utf8')
      .split('\x01')
      .map((rec) => rec.split('\x02')[0]);
    expect(names).toEqual(['B', 'a', '\uFFFD', '\u{1F600}']);
  });

  it('packs one entry with no separator and nothing for none', () => {
    expect(packMetadata({ k: 'v' }).toString()).toBe('k\x02v');
    expect(packMetadata({}).length).toBe(0);
  });

  it('unpacks records without a value, skips empty names, and keeps a trailing empty record out', () => {
    const meta = unpackMetadata(Buffer.from('a\x01\x02x\x01b\x02\x01c\x02v=w\x02z\x01'));
    expect({ ...meta }).toEqual({ a: '', b: '', c: 'v=w\x02z' });
    expect(Object.getPrototypeOf(unpackMetadata(Buffer.alloc(0)))).toBeNull();
  });

  it('truncates names to 64 and values to 256 bytes only when asked', () => {
    const name = 'n'.repeat(65);
    const value = 'v'.repeat(257);
    const packed = packMetadata({ [name]: value, short: 'x' });
    const cut = unpackMetadata(packed, { truncate: true });
    expect({ ...cut }).toEqual({ ['n'.repeat(64)]: 'v'.repeat(256), short: 'x' });
    expect(unpackMetadata(packed)[name]).toBe(value);
    const exact = packMetadata({ ['n'.repeat(64)]: 'v'.repeat(256) });
    expect({ ...unpackMetadata(exact, { truncate: true }) }).toEqual({ ['n'.repeat(64)]: 'v'.repeat(256) });
  });

  it('merges with the update winning, into a fresh prototype-free object', () => {
    const base = { a: '1', b: '2' };
    const merged = mergeMetadata(base, { b: '3', c: '4' });
    expect({ ...merged }).toEqual({ a: '1', b: '3', c: '4' });
    expect(Object.getPrototypeOf(merged)).toBeNull();
    expect(base).toEqual({ a: '1', b: '2' });
  });
});

describe('FrameReader edges', () => {
  it('reads zero bytes without touching the stream', async () => {
    const r = new FrameReader(chunks('abc'));
    expect((await r.readExact(0)).length).toBe(0);
    expect(r.consumed).toBe(0);
    expect((await r.readExact(3)).toString()).toBe('abc');
  });

  it('assembles a read across chunks and keeps the tail of the last one', async () => {
    const r = new FrameReader(chunks('ab', 'cd', 'efgh'));
    expect((await r.readExact(5)).toString()).toBe('abcde');
    expect(r.consumed).toBe(5);
    expect((await r.readExact(3)).toString()).toBe('fgh');
    expect(r.consumed).toBe(8);
  });

  it.each([
    [['abc'], 5, 'connection closed after 3 of 5 expected bytes'],
    [[], 5, 'connection closed after 0 of 5 expected bytes'],
    [['ab', 'c'], 4, 'connection closed after 3 of 4 expected bytes'],
  ])('readExact over %j for %i bytes reports how far it got', async (parts, n, message) => {
    const r = new FrameReader(chunks(...parts), 'peer:1');
    await expect(r.readExact(n)).rejects.toMatchObject({ status: 104, message, peer: 'peer:1' });
  });

  it('reads a control body of exactly the cap and names the peer when over it', async () => {
    const r = new FrameReader(chunks('abcd'), 'peer:2');
    expect((await r.readBody(4, 4)).toString()).toBe('abcd');
    const r2 = new FrameReader(chunks('abcde'), 'peer:2');
    await expect(r2.readBody(5, 4)).rejects.toMatchObject({
      status: 22,
      message: 'body of 5 bytes exceeds the 4-byte limit',
      peer: 'peer:2',
    });
  });

  it('refuses a default control body over 256 KiB', async () => {
    const r = new FrameReader(chunks('x'));
    await expect(r.readBody(256 * 1024 + 1)).rejects.toThrow(/exceeds the 262144-byte limit/);
  });

  it('take() yields exactly n bytes, splitting a chunk and keeping the rest', async () => {
    const r = new FrameReader(chunks('abc', 'defg', 'h'));
    const got: string[] = [];
    for await (const c of r.take(5)) got.push(c.toString());
    expect(got).toEqual(['abc', 'de']);
    expect(r.consumed).toBe(5);
    expect((await r.readExact(3)).toString()).toBe('fgh');
  });

  it('take() reports a stream that ends early', async () => {
    const r = new FrameReader(chunks('abc'), 'peer:3');
    const run = async () => {
      for await (const _ of r.take(5)) {
        // drain
      }
    };
    await expect(run()).rejects.toMatchObject({ message: 'connection closed after 3 of 5 expected bytes' });
  });

  it('stream() and skip() move exactly n bytes', async () => {
    const r = new FrameReader(chunks('0123', '4567', '89'));
    await r.skip(3);
    const got: Buffer[] = [];
    for await (const c of r.stream(4)) got.push(c as Buffer);
    expect(Buffer.concat(got).toString()).toBe('3456');
    expect((await r.readExact(3)).toString()).toBe('789');
    expect(r.consumed).toBe(10);
  });

  it('readHeader answers null at a clean end and reads a header split over chunks', async () => {
    const h = encodeHeader(7, 11, 0);
    const r = new FrameReader(chunks(h.subarray(0, 3), h.subarray(3)));
    expect(await r.readHeader()).toEqual({ length: 7, cmd: 11, status: 0 });
    expect(await r.readHeader()).toBeNull();
    expect(await r.readHeader()).toBeNull();
  });

  it('names the peer when a header carries a bad length', async () => {
    const r = new FrameReader(chunks(encodeHeader(-5n, 11)), '10.0.0.9:23000');
    await expect(r.readHeader()).rejects.toMatchObject({ status: 22, peer: '10.0.0.9:23000' });
  });
});

describe('storage command bodies', () => {
  it('round-trips upload prefix, slave prefix, download, append and truncate', () => {
    const up = encodeUploadPrefix({ storePathIndex: 255, size: 2 ** 40, ext: 'tar.gz' });
    expect(up.length).toBe(15);
    expect(decodeUploadPrefix(up)).toEqual({ storePathIndex: 255, size: 2 ** 40, ext: 'tar.gz' });

    const master = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
    const slave = encodeSlavePrefix({ master, size: 99, prefix: '_150x150', ext: 'png' });
    expect(slave.length).toBe(38 + master.length);
    expect(decodeSlaveFixed(slave.subarray(0, 38))).toEqual({
      masterLen: master.length,
      size: 99,
      prefix: '_150x150',
      ext: 'png',
    });
    expect(slave.subarray(38).toString()).toBe(master);

    const dl = encodeDownload({ offset: 5, length: 10, group: 'group1', remote: master });
    expect(decodeDownload(dl)).toEqual({ offset: 5, length: 10, group: 'group1', remote: master });

    const append = new BodyReader(encodeAppendPrefix('M00/x', 77));
    expect([append.int64(), append.int64(), append.rest().toString()]).toEqual([5, 77, 'M00/x']);
    const modify = new BodyReader(encodeAppendPrefix('M00/x', 77, 3));
    expect([modify.int64(), modify.int64(), modify.int64(), modify.rest().toString()]).toEqual([
      5,
      3,
      77,
      'M00/x',
    ]);
    const trunc = new BodyReader(encodeTruncate('M00/yy', 12));
    expect([trunc.int64(), trunc.int64(), trunc.rest().toString()]).toEqual([6, 12, 'M00/yy']);
  });

  it.each([
    [10, false],
    [11, true],
    [127, true],
    [128, false],
  ])('slave master length %i accepted: %s', (len, ok) => {
    const fixed = new BodyWriter(38).int64(len).int64(1).buf;
    if (ok) expect(decodeSlaveFixed(fixed).masterLen).toBe(len);
    else
      expect(fdfsError(() => decodeSlaveFixed(fixed)).message).toBe(
        `upload slave: master filename length ${len} out of range`,
      );
  });

  it('reads an upload reply of 17 bytes and refuses 16', () => {
    expect(decodeUploadReply(encodeUploadReply('group1', 'M'))).toEqual({ group: 'group1', remote: 'M' });
    expect(fdfsError(() => decodeUploadReply(fixedString('group1', 16))).message).toBe(
      'upload reply of 16 bytes is too short',
    );
  });

  it('round-trips set-metadata and checks both lengths against the body', () => {
    const q = { group: 'g1', remote: 'M00/00/00/abc', flag: 0x4d, meta: Buffer.from('a\x02b') };
    expect(decodeSetMetadata(encodeSetMetadata(q))).toEqual(q);
    const body = (nameLen: number, metaLen: number, tail: string) =>
      Buffer.concat([
        new BodyWriter(17).int64(nameLen).int64(metaLen).uint8(0x4f).buf,
        fixedString('g1', 16),
        Buffer.from(tail),
      ]);
    expect(decodeSetMetadata(body(1, 0, 'x'))).toMatchObject({ remote: 'x', meta: Buffer.alloc(0) });
    expect(decodeSetMetadata(body(127, 0, 'x'.repeat(127))).remote.length).toBe(127);
    for (const [n, m, tail] of [
      [0, 1, 'x'],
      [128, 0, 'x'.repeat(128)],
      [2, 1, 'xy'],
      [1, 0, 'xy'],
    ] as const) {
      const b = body(n, m, tail);
      expect(fdfsError(() => decodeSetMetadata(b)).message).toBe(
        `set metadata: lengths ${n}+${m} do not match body of ${b.length}`,
      );
    }
  });

  it('reads file info of 40 and 70 bytes only', () => {
    const f = { size: 5, timestamp: 6, crc32: 0xffffffff, sourceIp: '10.0.0.1' };
    const b = encodeFileInfo(f);
    expect(b.length).toBe(40);
    expect(decodeFileInfo(b)).toEqual(f);
    const wide = Buffer.concat([b.subarray(0, 24), fixedString('fe80::1', 46)]);
    expect(decodeFileInfo(wide)).toEqual({ ...f, sourceIp: 'fe80::1' });
    for (const n of [39, 41, 69])
      expect(fdfsError(() => decodeFileInfo(Buffer.alloc(n))).message).toBe(`file info reply of ${n} bytes`);
  });

  it('round-trips a group-and-name body', () => {
    const b = encodeGroupAndName('group2', 'M01/AA/BB/name');
    expect(b.length).toBe(16 + 14);
    expect(decodeGroupAndName(b, 'fetch')).toEqual({ group: 'group2', remote: 'M01/AA/BB/name' });
  });
});

describe('tracker replies', () => {
  it('encodes store-one in 40 bytes and refuses other lengths', () => {
    const t = { group: 'g', ip: '10.1.2.3', port: 23000, storePathIndex: 3 };
    const b = encodeStoreOne(t);
    expect(b.length).toBe(40);
    expect(decodeStoreOne(b)).toEqual(t);
    for (const n of [0, 39, 41, 69, 71]) {
      expect(fdfsError(() => decodeStoreOne(Buffer.alloc(n))).message).toBe(
        `query-store reply of ${n} bytes, expected 40 or 70`,
      );
    }
  });

  it('round-trips store-all and reads the path index from the last byte', () => {
    const b = encodeStoreAll(
      'g',
      [
        { ip: '10.0.0.1', port: 23000 },
        { ip: '10.0.0.2', port: 23001 },
      ],
      7,
    );
    expect(b.length).toBe(16 + 2 * 23 + 1);
    expect(decodeStoreAll(b)).toEqual([
      { group: 'g', ip: '10.0.0.1', port: 23000, storePathIndex: 7 },
      { group: 'g', ip: '10.0.0.2', port: 23001, storePathIndex: 7 },
    ]);
  });

  it('reads store-all with 45-byte IP fields and refuses an empty or bad list', () => {
    const wide = Buffer.concat([fixedString('g', 16), ipField('fe80::1', 45), int64(23000), Buffer.of(2)]);
    expect(decodeStoreAll(wide)).toEqual([{ group: 'g', ip: 'fe80::1', port: 23000, storePathIndex: 2 }]);
    const empty = Buffer.concat([fixedString('g', 16), Buffer.of(0)]);
    expect(fdfsError(() => decodeStoreAll(empty)).message).toBe('query-store-all reply of 17 bytes');
    const badPort = Buffer.concat([fixedString('g', 16), ipField('10.0.0.1'), int64(0), Buffer.of(0)]);
    expect(() => decodeStoreAll(badPort)).toThrow(FdfsError);
  });

  it.each([
    ['port 1', '10.0.0.1', 1n, true],
    ['port 65535', '10.0.0.1', 65535n, true],
    ['port 0', '10.0.0.1', 0n, false],
    ['port 65536', '10.0.0.1', 65536n, false],
    ['an empty IP', '', 23000n, false],
    ['a space in the IP', '10.0.0 1', 23000n, false],
    ['DEL in the IP', '10.0.0.\x7f', 23000n, false],
    ['! and ~ in the IP', '!host~', 23000n, true],
  ])('fetch-one with %s is read: %s', (_label, ip, port, ok) => {
    const b = Buffer.concat([fixedString('g', 16), ipField(ip), int64(port)]);
    if (ok) expect(decodeFetch(b)).toEqual([{ group: 'g', ip, port: Number(port) }]);
    else expect(fdfsError(() => decodeFetch(b)).message).toBe('query-fetch reply of 39 bytes');
  });

  it('refuses an IP field with bytes after its NUL padding', () => {
    const ip = Buffer.from('10.0.0.1\0\0\0\0\0\0x');
    const b = Buffer.concat([fixedString('g', 16), ip, int64(23000)]);
    expect(() => decodeFetch(b)).toThrow(/query-fetch reply of 39 bytes/);
  });

  it('reads an IP field with no NUL at all', () => {
    const b = Buffer.concat([fixedString('g', 16), Buffer.from('123.123.123.123'), int64(23000)]);
    expect(decodeFetch(b)).toEqual([{ group: 'g', ip: '123.123.123.123', port: 23000 }]);
  });

  it('encodes fetch-all classic when ports agree and with ports when they differ', () => {
    const same = encodeFetch('g', [
      { ip: '10.0.0.1', port: 23000 },
      { ip: '10.0.0.2', port: 23000 },
    ]);
    expect(same.length).toBe(16 + 15 + 8 + 15);
    expect(decodeFetch(same)).toEqual([
      { group: 'g', ip: '10.0.0.1', port: 23000 },
      { group: 'g', ip: '10.0.0.2', port: 23000 },
    ]);
    const mixed = encodeFetch('g', [
      { ip: '10.0.0.1', port: 23000 },
      { ip: '10.0.0.1', port: 23001 },
    ]);
    expect(mixed.length).toBe(16 + 2 * 23);
    expect(decodeFetch(mixed)).toEqual([
      { group: 'g', ip: '10.0.0.1', port: 23000 },
      { group: 'g', ip: '10.0.0.1', port: 23001 },
    ]);
    expect(fdfsError(() => encodeFetch('g', []), 2).message).toBe('no storage to answer with');
  });

  it('refuses a fetch reply shorter than one entry', () => {
    expect(fdfsError(() => decodeFetch(Buffer.alloc(38))).message).toBe('query-fetch reply of 38 bytes');
  });

  it('refuses a fetch-all whose later entries are neither IPs nor IP + port', () => {
    const head = Buffer.concat([fixedString('g', 16), ipField('10.0.0.1'), int64(23000)]);
    const junk = Buffer.concat([head, Buffer.from('\x01'.repeat(15))]);
    expect(() => decodeFetch(junk)).toThrow(/query-fetch reply of 54 bytes/);
    const badPorts = Buffer.concat([head, ipField('10.0.0.2'), int64(70000)]);
    expect(() => decodeFetch(badPorts)).toThrow(FdfsError);
  });
});

describe('storage → tracker bodies', () => {
  const join: JoinRequest = {
    group: 'group1',
    storagePort: 23000,
    storePathCount: 2,
    subdirCountPerPath: 256,
    uploadPriority: -5,
    joinTime: 1700000000,
    upTime: 1700000100,
    version: '6.16',
    initFlag: 1,
    status: 7,
    storageId: '100001',
    currentTrackerIp: '10.0.0.5',
    trackers: ['10.0.0.5:22122', '10.0.0.6:22122', 'advertise=1.2.3.4'],
  };

  it('round-trips a join, reading tracker lines and ignoring the count field', () => {
    const b = encodeJoin(join);
    expect(decodeJoin(b)).toEqual(join);
    expect(decodeJoin(encodeJoin({ ...join, trackers: [] })).trackers).toEqual([]);
    const fixed = b.length - Buffer.from(join.trackers.map((t) => `${t}\n`).join('')).length;
    expect(fixed).toBe(16 + 1 + 48 + 8 + 2 + 16 + 46 + 8);
  });

  it('round-trips join reply, disk usage and sync report', () => {
    expect(decodeJoinReply(encodeJoinReply(0, 'src1'))).toEqual({ status: 0, srcId: 'src1' });
    const paths = [
      { totalMb: 100, freeMb: 50 },
      { totalMb: 2 ** 40, freeMb: 0 },
    ];
    expect(decodeDiskUsage(encodeDiskUsage(paths))).toEqual(paths);
    expect(decodeDiskUsage(Buffer.concat([encodeDiskUsage(paths), Buffer.alloc(15)]))).toEqual(paths);
    const rows = [
      { id: '10.0.0.1', timestamp: 5 },
      { id: '10.0.0.2', timestamp: -1 },
    ];
    expect(decodeSyncReport(encodeSyncReport(rows))).toEqual(rows);
    expect(decodeSyncReport(Buffer.concat([encodeSyncReport(rows), Buffer.alloc(19)]))).toEqual(rows);
  });
});

describe('sync bodies', () => {
  const name = 'M00/00/00/abc';

  it('round-trips create/update, range, delete and pair heads', () => {
    const file = encodeSyncFile('g1', name, 1000, 1700000000);
    expect(file.length).toBe(36 + name.length);
    expect(decodeSyncFileHead(file.subarray(0, 36))).toEqual({
      nameLen: name.length,
      fileSize: 1000,
      timestamp: 1700000000,
      group: 'g1',
    });
    const range = encodeSyncRange('g1', name, 10, 20, 30);
    expect(range.length).toBe(44 + name.length);
    expect(decodeSyncRangeHead(range.subarray(0, 44))).toEqual({
      nameLen: name.length,
      a: 10,
      b: 20,
      timestamp: 30,
      group: 'g1',
    });
    expect(decodeSyncDelete(encodeSyncDelete('g1', name, 40))).toEqual({ timestamp: 40, group: 'g1', name });
    expect(decodeSyncPair(encodeSyncPair('g1', `${name}x`, name, 50))).toEqual({
      timestamp: 50,
      group: 'g1',
      dest: `${name}x`,
      src: name,
    });
  });

  it.each([
    [0, false],
    [1, true],
    [130, true],
    [131, false],
  ])('a name of %i bytes is accepted: %s', (len, ok) => {
    const head = encodeSyncFile('g1', 'x'.repeat(len), 1, 1).subarray(0, 36);
    const delete_ = encodeSyncDelete('g1', 'x'.repeat(len), 1);
    const range = encodeSyncRange('g1', 'x'.repeat(len), 1, 1, 1).subarray(0, 44);
    if (ok) {
      expect(decodeSyncFileHead(head).nameLen).toBe(len);
      expect(decodeSyncDelete(delete_).name.length).toBe(len);
      expect(decodeSyncRangeHead(range).nameLen).toBe(len);
    } else {
      expect(fdfsError(() => decodeSyncFileHead(head)).message).toBe(
        `sync file: filename length ${len} outside 1..130`,
      );
      expect(fdfsError(() => decodeSyncDelete(delete_)).message).toBe(
        `sync delete: filename length ${len} outside 1..130`,
      );
      expect(fdfsError(() => decodeSyncRangeHead(range)).message).toBe(
        `sync range: filename length ${len} outside 1..130`,
      );
    }
  });

  it('checks both names of a pair', () => {
    const pair = (d: number, s: number, tail: number) =>
      Buffer.concat([
        new BodyWriter(20).int64(d).int64(s).int32(1).buf,
        fixedString('g1', 16),
        Buffer.alloc(tail, 0x61),
      ]);
    expect(decodeSyncPair(pair(130, 1, 131))).toMatchObject({ dest: 'a'.repeat(130), src: 'a' });
    expect(fdfsError(() => decodeSyncPair(pair(0, 1, 1))).message).toBe(
      'sync rename: filename length 0 outside 1..130',
    );
    expect(fdfsError(() => decodeSyncPair(pair(1, 131, 132))).message).toBe(
      'sync rename: filename length 131 outside 1..130',
    );
    expect(fdfsError(() => decodeSyncPair(pair(2, 2, 5))).message).toBe(
      'sync rename: 5 name bytes, expected 4',
    );
    expect(fdfsError(() => decodeSyncPair(pair(2, 2, 3))).message).toBe(
      'sync rename: 3 name bytes, expected 4',
    );
  });

  it('checks the sizes of server id, watermark, source, source query and status report', () => {
    expect(decodeServerId(encodeServerId('100001'))).toBe('100001');
    expect(fdfsError(() => decodeServerId(Buffer.alloc(15))).message).toBe(
      'report server id: body of 15 bytes, expected 16',
    );
    expect(fdfsError(() => decodeServerId(Buffer.alloc(17))).message).toMatch(/body of 17 bytes/);

    expect(decodeWatermark(encodeWatermark(1700000000))).toBe(1700000000);
    expect(fdfsError(() => decodeWatermark(Buffer.alloc(7))).message).toBe('sync watermark: body of 7 bytes');
    expect(() => decodeWatermark(int64(-1))).toThrow(/invalid timestamp -1/);

    expect(encodeSyncSource(undefined).length).toBe(0);
    expect(decodeSyncSource(Buffer.alloc(0))).toBeUndefined();
    expect(decodeSyncSource(encodeSyncSource({ srcId: 's1', until: 99 }))).toEqual({
      srcId: 's1',
      until: 99,
    });
    expect(decodeSyncSource(encodeSyncSource({ srcId: '', until: 99 }))).toBeUndefined();
    expect(fdfsError(() => decodeSyncSource(Buffer.alloc(23))).message).toBe(
      'sync source: body of 23 bytes, expected 0 or 24',
    );

    expect(decodeSyncSrcQuery(encodeSyncSrcQuery('g1', 'd1'))).toEqual({ group: 'g1', destId: 'd1' });
    expect(fdfsError(() => decodeSyncSrcQuery(Buffer.alloc(31))).message).toBe(
      'sync src query: body of 31 bytes, expected 32',
    );

    const s = { group: 'g1', status: 7, port: 23000, id: '100001', ip: '10.0.0.1' };
    // FastDFS 6.16 sends the address in 46 bytes (83 in all); the 16-byte form (53) is still read.
    expect(STATUS_REPORT_SIZE).toBe(83);
    expect(decodeStatusReport(encodeStatusReport(s))).toEqual(s);
    expect(decodeStatusReport(encodeStatusReport(s).subarray(0, 53))).toEqual(s);
    expect(fdfsError(() => decodeStatusReport(Buffer.alloc(52))).message).toBe(
      'report status: body of 52 bytes, expected 83 (or 53, the older form)',
    );
  });

  it('round-trips the storage ids reply and checks its line count', () => {
    const lines = ['100001 group1 10.0.0.1', '100002 group1 [::1]:23000'];
    const b = encodeStorageIdsReply(5, lines);
    expect(decodeStorageIdsReply(b)).toEqual({ total: 5, lines });
    const lying = Buffer.concat([new BodyWriter(8).int32(2).int32(3).buf, Buffer.from('a\nb\n\n')]);
    expect(fdfsError(() => decodeStorageIdsReply(lying)).message).toBe('storage ids: 2 lines, header says 3');
  });
});

describe('121 sync status edges', () => {
  it('checks the query size and group', () => {
    expect(decodeSyncStatusQuery(encodeSyncStatusQuery('group1'))).toBe('group1');
    expect(fdfsError(() => decodeSyncStatusQuery(Buffer.alloc(15))).message).toBe(
      'sync status: body of 15 bytes, expected 16',
    );
    expect(fdfsError(() => decodeSyncStatusQuery(Buffer.alloc(16))).message).toBe(
      'sync status: empty group name',
    );
  });

  it.each([
    ['', 'b'],
    ['a', ''],
    ['a', 'a'],
  ])('refuses the pair %j ← %j', (dest, source) => {
    const b = encodeSyncStatus([{ dest, source, syncedUntil: 1 }]);
    expect(fdfsError(() => decodeSyncStatus(b)).message).toBe(
      `sync status reply: bad pair "${dest}" ← "${source}"`,
    );
  });

  it('refuses a reply that is not whole rows, and reads none from nothing', () => {
    expect(fdfsError(() => decodeSyncStatus(Buffer.alloc(41))).message).toBe(
      'sync status reply of 41 bytes, not a multiple of 40',
    );
    expect(decodeSyncStatus(Buffer.alloc(0))).toEqual([]);
  });
});

describe('stat records, field by field', () => {
  const group: GroupStat = {
    groupName: 'group7',
    totalMb: 1,
    freeMb: 2,
    reservedMb: 3,
    trunkFreeMb: 4,
    storageCount: 5,
    storagePort: 6,
    storageHttpPort: 7,
    readableCount: 8,
    writableCount: 9,
    activeCount: 10,
    currentWriteServer: 11,
    storePathCount: 12,
    subdirCountPerPath: 13,
    currentTrunkFileId: 14,
  };

  it('round-trips every field of the current group record, two records in a body', () => {
    const one = encodeGroupStat(group, 'current');
    const two = encodeGroupStat({ ...group, groupName: 'group8', totalMb: 99 }, 'current');
    const got = decodeGroupStats(Buffer.concat([one, two]), 'current');
    expect(got).toEqual([
      { ...group, storageHttpPort: 0, activeCount: 8 },
      { ...group, groupName: 'group8', totalMb: 99, storageHttpPort: 0, activeCount: 8 },
    ]);
  });

  it('round-trips every field of the classic group record', () => {
    const got = decodeGroupStats(encodeGroupStat(group, 'classic'), 'classic');
    expect(got).toEqual([{ ...group, reservedMb: 0, readableCount: 10, writableCount: 10 }]);
  });

  it('refuses a group stat body that is not whole records', () => {
    expect(fdfsError(() => decodeGroupStats(Buffer.alloc(114), 'current')).message).toBe(
      'group stat body 114 is not a multiple of 113',
    );
    expect(fdfsError(() => decodeGroupStats(Buffer.alloc(113), 'classic')).message).toBe(
      'group stat body 113 is not a multiple of 105',
    );
  });

  const counters = emptyCounters();
  counters.connAllocCount = -1;
  counters.connCurrentCount = 2;
  counters.connMaxCount = 3;
  STAT_COUNTER_NAMES.forEach((n, i) => {
    counters[n] = (i + 1) * 1000 + 0.4;
  });
  const whole = { ...counters };
  for (const n of STAT_COUNTER_NAMES) whole[n] = Math.trunc(counters[n]);

  const storage: StorageStat = {
    status: 7,
    rwMode: 3,
    id: '100001',
    ip: '10.0.0.1',
    domainName: 'files.example.com',
    srcId: '100002',
    version: '6.16',
    joinTime: 21,
    upTime: 22,
    totalMb: 23,
    freeMb: 24,
    reservedMb: 25,
    uploadPriority: 26,
    storePathCount: 27,
    subdirCountPerPath: 28,
    currentWritePath: 29,
    storagePort: 30,
    storageHttpPort: 31,
    counters,
    ifTrunkServer: true,
  };

  it('round-trips every field and counter of the current storage record', () => {
    const b = Buffer.concat([
      encodeStorageStat(storage, 'current'),
      encodeStorageStat({ ...storage, ifTrunkServer: false }, 'current'),
    ]);
    expect(decodeStorageStats(b, 'current')).toEqual([
      { ...storage, domainName: '', storageHttpPort: 0, counters: whole },
      { ...storage, domainName: '', storageHttpPort: 0, counters: whole, ifTrunkServer: false },
    ]);
    expect(encodeCounters(counters)).toEqual(encodeStorageStat(storage, 'current').subarray(138, 138 + 348));
  });

  it('round-trips every field and counter of the classic storage record', () => {
    expect(decodeStorageStats(encodeStorageStat(storage, 'classic'), 'classic')).toEqual([
      { ...storage, rwMode: 6, reservedMb: 0, counters: whole },
    ]);
  });

  it('refuses a storage stat body that is not whole records', () => {
    expect(fdfsError(() => decodeStorageStats(Buffer.alloc(488), 'current')).message).toBe(
      'storage stat body 488 is not a multiple of 487',
    );
    expect(fdfsError(() => decodeStorageStats(Buffer.alloc(517), 'classic')).message).toBe(
      'storage stat body 517 is not a multiple of 612',
    );
  });
});

describe('what a short or bad body is called in the error', () => {
  const neg = int64(-1);
  const head = (...parts: Buffer[]) => Buffer.concat(parts);
  const g16 = fixedString('g1', 16);
  it.each<[string, () => unknown, string]>([
    ['upload, short', () => decodeUploadPrefix(Buffer.alloc(0)), 'upload: body too short (need 1, have 0)'],
    ['upload size', () => decodeUploadPrefix(head(Buffer.of(0), neg)), 'upload: invalid file size -1'],
    [
      'slave, short',
      () => decodeSlaveFixed(Buffer.alloc(0)),
      'upload slave: body too short (need 8, have 0)',
    ],
    ['slave master length', () => decodeSlaveFixed(neg), 'upload slave: invalid master filename length -1'],
    ['slave size', () => decodeSlaveFixed(head(int64(20), neg)), 'upload slave: invalid file size -1'],
    [
      'set metadata, short',
      () => decodeSetMetadata(Buffer.alloc(0)),
      'set metadata: body too short (need 8, have 0)',
    ],
    ['set metadata name', () => decodeSetMetadata(neg), 'set metadata: invalid filename length -1'],
    [
      'set metadata meta',
      () => decodeSetMetadata(head(int64(1), neg)),
      'set metadata: invalid metadata length -1',
    ],
    ['download, short', () => decodeDownload(Buffer.alloc(0)), 'download: body too short (need 8, have 0)'],
    ['download offset', () => decodeDownload(neg), 'download: invalid offset -1'],
    ['download length', () => decodeDownload(head(int64(0), neg)), 'download: invalid length -1'],
    ['join, short', () => decodeJoin(Buffer.alloc(0)), 'storage join: body too short (need 17, have 0)'],
    ['join port', () => decodeJoin(head(fixedString('g', 17), neg)), 'storage join: invalid storage port -1'],
    [
      'join path count',
      () => decodeJoin(head(fixedString('g', 17), int64(1), neg)),
      'storage join: invalid store path count -1',
    ],
    [
      'join subdir count',
      () => decodeJoin(head(fixedString('g', 17), int64(1), int64(1), neg)),
      'storage join: invalid subdir count -1',
    ],
    [
      'join reply, short',
      () => decodeJoinReply(Buffer.alloc(0)),
      'join reply: body too short (need 1, have 0)',
    ],
    [
      'sync file, short',
      () => decodeSyncFileHead(Buffer.alloc(0)),
      'sync file: body too short (need 8, have 0)',
    ],
    ['sync file name', () => decodeSyncFileHead(neg), 'sync file: invalid filename length -1'],
    ['sync file size', () => decodeSyncFileHead(head(int64(5), neg)), 'sync file: invalid file size -1'],
    [
      'sync range, short',
      () => decodeSyncRangeHead(Buffer.alloc(0)),
      'sync range: body too short (need 8, have 0)',
    ],
    ['sync range name', () => decodeSyncRangeHead(neg), 'sync range: invalid filename length -1'],
    ['sync range offset', () => decodeSyncRangeHead(head(int64(5), neg)), 'sync range: invalid offset -1'],
    [
      'sync range length',
      () => decodeSyncRangeHead(head(int64(5), int64(0), neg)),
      'sync range: invalid length -1',
    ],
    [
      'sync delete, short',
      () => decodeSyncDelete(Buffer.alloc(0)),
      'sync delete: body too short (need 4, have 0)',
    ],
    [
      'sync rename, short',
      () => decodeSyncPair(Buffer.alloc(0)),
      'sync rename: body too short (need 8, have 0)',
    ],
    ['sync rename dest', () => decodeSyncPair(neg), 'sync rename: invalid dest length -1'],
    ['sync rename src', () => decodeSyncPair(head(int64(5), neg)), 'sync rename: invalid src length -1'],
    ['watermark', () => decodeWatermark(neg), 'sync watermark: invalid timestamp -1'],
    ['sync source', () => decodeSyncSource(head(g16, neg)), 'sync source: invalid until timestamp -1'],
    [
      'storage ids, short',
      () => decodeStorageIdsReply(Buffer.alloc(0)),
      'storage ids: body too short (need 4, have 0)',
    ],
    [
      'sync status row',
      () => decodeSyncStatus(head(fixedString('a', 16), fixedString('b', 16), neg)),
      'sync status reply: invalid synced-until timestamp -1',
    ],
  ])('%s', (_label, fn, message) => {
    expect(fdfsError(fn).message).toBe(message);
  });
});

describe('more FrameReader edges', () => {
  it('answers null after a read that took the whole last chunk', async () => {
    const r = new FrameReader(chunks(encodeHeader(0, 82)));
    expect(await r.readHeader()).toEqual({ length: 0, cmd: 82, status: 0 });
    expect(await r.readHeader()).toBeNull();
    const r2 = new FrameReader(chunks('abc'));
    expect((await r2.readExact(3)).toString()).toBe('abc');
    expect(await r2.readHeader()).toBeNull();
  });

  it('keeps what follows a short read inside a larger chunk', async () => {
    const r = new FrameReader(chunks('abcdef'));
    expect((await r.readExact(2)).toString()).toBe('ab');
    expect(r.consumed).toBe(2);
    expect((await r.readExact(4)).toString()).toBe('cdef');
  });

  it('reads zero bytes at the end of the stream', async () => {
    const r = new FrameReader(chunks());
    expect((await r.readExact(0)).length).toBe(0);
  });

  it('take() of exactly the last chunk ends cleanly with that one chunk', async () => {
    const r = new FrameReader(chunks('abc'));
    const got: string[] = [];
    for await (const c of r.take(3)) got.push(c.toString());
    expect(got).toEqual(['abc']);
    const r2 = new FrameReader(chunks('abc', 'def'));
    const got2: string[] = [];
    for await (const c of r2.take(3)) got2.push(c.toString());
    expect(got2).toEqual(['abc']);
    expect((await r2.readExact(3)).toString()).toBe('def');
  });

  it('streams bytes, not objects, and names no peer when none was given', async () => {
    const r = new FrameReader(chunks('abc'));
    expect(r.stream(3).readableObjectMode).toBe(false);
    const err = await new FrameReader(chunks('ab')).readExact(3).catch((e: unknown) => e);
    expect((err as FdfsError).peer).toBe('');
  });
});

describe('more body edges', () => {
  it('keeps a fixed field that is too long inside its width', () => {
    const w = new BodyWriter(8).fixed('abcdef', 4).fixed('x', 4);
    expect(w.buf).toEqual(Buffer.from('abcdx\0\0\0'));
  });

  it('unpacks a body that starts with a record separator', () => {
    expect({ ...unpackMetadata(Buffer.from('\x01a\x02b')) }).toEqual({ a: 'b' });
  });

  it('packs a missing value as empty', () => {
    expect(packMetadata({ a: undefined as unknown as string }).toString()).toBe('a\x02');
  });

  it('refuses a classic fetch-all whose third IP field is junk', () => {
    const b = Buffer.concat([
      fixedString('g', 16),
      ipField('10.0.0.1'),
      int64(23000),
      ipField('10.0.0.2'),
      Buffer.alloc(15, 0x01),
    ]);
    expect(fdfsError(() => decodeFetch(b)).message).toBe(`query-fetch reply of ${b.length} bytes`);
  });

  it('refuses a fetch reply with a stray byte after an IP field', () => {
    const b = Buffer.concat([
      fixedString('g', 16),
      ipField('10.0.0.1'),
      int64(23000),
      ipField('10.0.0.2'),
      Buffer.from('x'),
    ]);
    expect(fdfsError(() => decodeFetch(b)).message).toBe(`query-fetch reply of ${b.length} bytes`);
  });
});
