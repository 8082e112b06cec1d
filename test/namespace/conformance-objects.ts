/** Conformance: buckets, objects, conditional writes, reopen. */
import { afterEach, describe, expect, it } from 'vitest';
import { FdfsError } from '../../src/common/index.js';
import type { Namespace, ObjectRecord } from '../../src/namespace/index.js';
import { type Handle, type NamespaceFactory, OWNER, obj } from './fixtures.js';

export function bucketAndObjectCases(factory: NamespaceFactory): void {
  let h: Handle | undefined;
  let ns: Namespace;
  afterEach(async () => {
    await ns?.close();
    h = undefined;
  });
  async function fresh(): Promise<Namespace> {
    h = await factory.fresh();
    ns = h.ns;
    return ns;
  }

  describe('buckets', () => {
    it('creates once, tells owned from taken, lists an owner’s buckets by name', async () => {
      await fresh();
      const b = { name: 'photos', owner: OWNER, createdAt: 1, public: false, group: 'group2' };
      expect(await ns.createBucket(b)).toBe('created');
      expect(await ns.createBucket({ ...b, createdAt: 2 })).toBe('owned');
      expect(await ns.createBucket({ ...b, owner: 'OTHER' })).toBe('taken');
      expect(await ns.getBucket('photos')).toEqual(b);
      expect(await ns.getBucket('nope')).toBeUndefined();
      for (const name of ['zeta', 'alpha', 'mid']) {
        await ns.createBucket({ name, owner: OWNER, createdAt: 3, public: false });
      }
      await ns.createBucket({ name: 'beta', owner: 'OTHER', createdAt: 3, public: false });
      expect((await ns.listBuckets(OWNER)).map((x) => x.name)).toEqual(['alpha', 'mid', 'photos', 'zeta']);
      expect((await ns.listBuckets('OTHER')).map((x) => x.name)).toEqual(['beta']);
      expect(await ns.listBuckets('NOBODY')).toEqual([]);
    });

    it('makes a bucket public and back; a missing bucket is NoSuchBucket', async () => {
      await fresh();
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      await ns.setBucketPublic('b', true);
      expect((await ns.getBucket('b'))?.public).toBe(true);
      await ns.setBucketPublic('b', false);
      expect((await ns.getBucket('b'))?.public).toBe(false);
      const err = await ns.setBucketPublic('missing', true).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FdfsError);
      expect((err as FdfsError).detail).toBe('NoSuchBucket');
    });

    it('deletes an empty bucket, refuses one with objects, says missing', async () => {
      await fresh();
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      // A neighbour whose name extends this one's must not count as content.
      await ns.createBucket({ name: 'b2', owner: OWNER, createdAt: 1, public: false });
      expect(await ns.putObject(obj('b2', 'x'))).toBe('ok');
      expect(await ns.deleteBucket('b')).toBe('deleted');
      expect(await ns.deleteBucket('b')).toBe('missing');
      expect(await ns.deleteBucket('b2')).toBe('not-empty');
      expect(await ns.getObject('b2', 'x')).toBeDefined();
    });
  });

  describe('objects', () => {
    it('round-trips every field of a record; nothing for a missing key', async () => {
      await fresh();
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      const rec: ObjectRecord = {
        bucket: 'b',
        key: 'dir/é ü.txt',
        parts: [
          { fileId: 'group1/M00/00/00/a.bin', size: 5_242_880 },
          { fileId: 'group1/M00/00/01/b.bin', size: 7 },
        ],
        size: 5_242_887,
        etag: '0123456789abcdef0123456789abcdef-2',
        lastModified: 1_712_345_678_901,
        contentType: 'image/png',
        headers: { 'cache-control': 'no-cache', 'content-disposition': 'attachment; filename="x y.png"' },
        meta: { colour: 'blue', 'x-y': 'é' },
        checksum: { algorithm: 'CRC32', value: 'AAAAAA==' },
      };
      expect(await ns.putObject(rec)).toBe('ok');
      expect(await ns.getObject('b', 'dir/é ü.txt')).toEqual(rec);
      expect(await ns.getObject('b', 'dir/é ü.tx')).toBeUndefined();
      expect(await ns.getObject('other', 'dir/é ü.txt')).toBeUndefined();
      const plain = obj('b', 'plain');
      await ns.putObject(plain);
      expect(await ns.getObject('b', 'plain')).toEqual(plain);
      expect(Object.hasOwn((await ns.getObject('b', 'plain')) ?? {}, 'checksum')).toBe(false);
    });

    it('answers the optional sync reads as the async ones, through writes and deletes', async () => {
      await fresh();
      // A store may leave them out (callers fall back to the async pair); one that has them must agree.
      if (!ns.getBucketSync || !ns.getObjectSync) return;
      expect(ns.getBucketSync('b')).toBeUndefined();
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      expect(ns.getBucketSync('b')).toEqual(await ns.getBucket('b'));
      await ns.setBucketPublic('b', true);
      expect(ns.getBucketSync('b')?.public).toBe(true);
      expect(ns.getObjectSync('b', 'k é')).toBeUndefined();
      const rec = obj('b', 'k é', { meta: { a: '1' }, checksum: { algorithm: 'CRC32', value: 'AAAAAA==' } });
      await ns.putObject(rec);
      expect(ns.getObjectSync('b', 'k é')).toEqual(rec);
      expect(ns.getObjectSync('b', 'k é')).toEqual(await ns.getObject('b', 'k é'));
      const next = obj('b', 'k é');
      await ns.putObject(next);
      expect(ns.getObjectSync('b', 'k é')).toEqual(next);
      await ns.deleteObject('b', 'k é');
      expect(ns.getObjectSync('b', 'k é')).toBeUndefined();
      expect(ns.getObjectSync('other', 'k é')).toBeUndefined();
    });

    it('needs the bucket; deletes once; a key past 1,024 bytes is refused', async () => {
      await fresh();
      expect(await ns.putObject(obj('nob', 'k'))).toBe('no-bucket');
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      await ns.putObject(obj('b', 'k'));
      expect(await ns.deleteObject('b', 'k')).toBe(true);
      expect(await ns.deleteObject('b', 'k')).toBe(false);
      expect(await ns.getObject('b', 'k')).toBeUndefined();
      expect(await ns.putObject(obj('b', 'é'.repeat(512)))).toBe('ok');
      const err = await ns.putObject(obj('b', `${'é'.repeat(512)}x`)).catch((e: unknown) => e);
      expect((err as FdfsError).detail).toBe('KeyTooLongError');
    });

    it('applies If-None-Match and If-Match', async () => {
      await fresh();
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      expect(await ns.putObject(obj('b', 'k'), { ifMatch: 'x' })).toBe('precondition-failed');
      const first = obj('b', 'k');
      expect(await ns.putObject(first, { ifNoneMatch: '*' })).toBe('ok');
      expect(await ns.putObject(obj('b', 'k'), { ifNoneMatch: '*' })).toBe('precondition-failed');
      expect(await ns.putObject(obj('b', 'k'), { ifMatch: 'wrong' })).toBe('precondition-failed');
      expect((await ns.getObject('b', 'k'))?.etag).toBe(first.etag);
      const second = obj('b', 'k');
      expect(await ns.putObject(second, { ifMatch: first.etag })).toBe('ok');
      expect((await ns.getObject('b', 'k'))?.etag).toBe(second.etag);
    });

    it('lets exactly one of many racing conditional writers win', async () => {
      await fresh();
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      const create = await Promise.all(
        Array.from({ length: 32 }, () => ns.putObject(obj('b', 'once'), { ifNoneMatch: '*' })),
      );
      expect(create.filter((r) => r === 'ok')).toHaveLength(1);
      const etag = (await ns.getObject('b', 'once'))?.etag ?? '';
      const swap = await Promise.all(
        Array.from({ length: 32 }, () => ns.putObject(obj('b', 'once'), { ifMatch: etag })),
      );
      expect(swap.filter((r) => r === 'ok')).toHaveLength(1);
    });

    it('answers each of many concurrent writes as if they ran one after another', async () => {
      await fresh();
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      const store = ns;
      const distinct = Array.from({ length: 40 }, (_, i) => obj('b', `k${i}`));
      const same = Array.from({ length: 10 }, () => obj('b', 'same'));
      const answers = await Promise.all([
        ...distinct.map((r) => store.putObject(r)),
        ...same.map((r) => store.putObject(r)),
        ...Array.from({ length: 5 }, () => store.putObject(obj('gone', 'x'))),
        ...Array.from({ length: 5 }, () => store.putObject(obj('b', 'cond'), { ifMatch: 'nope' })),
      ]);
      expect(answers).toEqual([
        ...Array(50).fill('ok'),
        ...Array(5).fill('no-bucket'),
        ...Array(5).fill('precondition-failed'),
      ]);
      for (const r of distinct) expect(await ns.getObject('b', r.key)).toEqual(r);
      expect(await ns.getObject('b', 'cond')).toBeUndefined();
      // One version of `same` won; the files of the nine it replaced are queued, nothing else.
      const won = (await ns.getObject('b', 'same'))?.parts[0]?.fileId;
      const queued = (await ns.takeGarbage(100)).map((g) => g.fileId).sort();
      const lost = same.flatMap((r) => r.parts.map((p) => p.fileId)).filter((f) => f !== won);
      expect(queued).toEqual(lost.sort());
    });

    it('keeps buckets, objects and sequence numbers across close and reopen', async () => {
      await fresh();
      await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: true });
      const rec = obj('b', 'k');
      await ns.putObject(rec);
      await ns.deleteObject('b', 'k');
      const before = await ns.takeGarbage(10);
      await ns.ackGarbage(before.map((g) => g.seq));
      ns = await (h as Handle).reopen();
      expect(await ns.getBucket('b')).toEqual({ name: 'b', owner: OWNER, createdAt: 1, public: true });
      const again = obj('b', 'k2');
      await ns.putObject(again);
      expect(await ns.getObject('b', 'k2')).toEqual(again);
      await ns.deleteObject('b', 'k2');
      const after = await ns.takeGarbage(10);
      expect(after.map((g) => g.fileId)).toEqual([again.parts[0]?.fileId]);
      // An acknowledged sequence number is never handed out again.
      expect(after[0]?.seq).toBeGreaterThan(before[0]?.seq ?? Number.POSITIVE_INFINITY);
    });
  });
}
