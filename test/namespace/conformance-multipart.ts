/** Conformance: multipart uploads from create to complete or abort, and with their bucket. */
import { afterEach, describe, expect, it } from 'vitest';
import { FdfsError } from '../../src/common/index.js';
import type { Namespace, PartRecord } from '../../src/namespace/index.js';
import { fid, type NamespaceFactory, OWNER, obj, upload } from './fixtures.js';

function part(uploadId: string, partNumber: number): PartRecord {
  return { uploadId, partNumber, fileId: fid(), size: 5_242_880, etag: `p${partNumber}`, lastModified: 1 };
}

async function garbageIds(ns: Namespace): Promise<string[]> {
  return (await ns.takeGarbage(1000)).map((g) => g.fileId).sort();
}

export function multipartCases(factory: NamespaceFactory): void {
  let ns: Namespace | undefined;
  afterEach(async () => {
    await ns?.close();
    ns = undefined;
  });
  async function fresh(opts?: { now?: () => number; completedTtlMs?: number }): Promise<Namespace> {
    const h = await factory.fresh(opts);
    await h.ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
    ns = h.ns;
    return h.ns;
  }

  describe('multipart', () => {
    it('creates, takes and replaces parts, lists them in number order', async () => {
      const ns = await fresh();
      expect(await ns.createUpload(upload('nob', 'k', 'u0'))).toBe('no-bucket');
      expect(await ns.putPart(part('u1', 1))).toBe('no-upload');
      const u = { ...upload('b', 'k', 'u1'), group: 'group1', meta: { a: 'b' }, headers: { expires: 'x' } };
      expect(await ns.createUpload(u)).toBe('ok');
      expect(await ns.getUpload('u1')).toEqual(u);
      expect(await ns.getUpload('u2')).toBeUndefined();
      const parts = [part('u1', 10), part('u1', 2), part('u1', 1), part('u1', 300)];
      for (const p of parts) expect(await ns.putPart(p)).toBe('ok');
      const replaced = part('u1', 2);
      expect(await ns.putPart(replaced)).toBe('ok');
      // The replaced part's file has nothing naming it any more.
      expect(await garbageIds(ns)).toEqual([parts[1]?.fileId]);
      expect((await ns.listParts('u1', 0, 100)).map((p) => p.partNumber)).toEqual([1, 2, 10, 300]);
      expect((await ns.listParts('u1', 0, 100))[1]).toEqual(replaced);
      expect((await ns.listParts('u1', 0, 2)).map((p) => p.partNumber)).toEqual([1, 2]);
      expect((await ns.listParts('u1', 2, 2)).map((p) => p.partNumber)).toEqual([10, 300]);
      expect(await ns.listParts('u1', 300, 2)).toEqual([]);
      expect(await ns.listParts('nope', 0, 2)).toEqual([]);
    });

    it('lists uploads by key then id, with prefix and both markers', async () => {
      const ns = await fresh();
      await ns.createBucket({ name: 'b0', owner: OWNER, createdAt: 1, public: false });
      await ns.createUpload(upload('b0', 'a', 'other-bucket'));
      for (const [key, id] of [
        ['a', 'u2'],
        ['a', 'u1'],
        ['a/b', 'u3'],
        ['ab', 'u4'],
        ['é', 'u5'],
        ['b', 'u6'],
      ] as const) {
        await ns.createUpload(upload('b', key, id));
      }
      const ids = async (q: Parameters<Namespace['listUploads']>[1]) =>
        (await ns.listUploads('b', q)).uploads.map((u) => u.uploadId);
      expect(await ids({ max: 100 })).toEqual(['u1', 'u2', 'u3', 'u4', 'u6', 'u5']);
      expect(await ids({ max: 2 })).toEqual(['u1', 'u2']);
      expect(await ids({ prefix: 'a', max: 100 })).toEqual(['u1', 'u2', 'u3', 'u4']);
      expect(await ids({ keyMarker: 'a', max: 100 })).toEqual(['u3', 'u4', 'u6', 'u5']);
      expect(await ids({ keyMarker: 'a', uploadIdMarker: 'u1', max: 100 })).toEqual([
        'u2',
        'u3',
        'u4',
        'u6',
        'u5',
      ]);
      expect(await ids({ prefix: 'a', keyMarker: 'a/b', max: 100 })).toEqual(['u4']);
      expect(await ids({ max: 0 })).toEqual([]);
    });

    it('pages uploads with a delimiter: common prefixes rolled up, markers resume exactly', async () => {
      const ns = await fresh();
      for (const [key, id] of [
        ['a', 'u1'],
        ['a', 'u2'],
        ['d/x', 'u3'],
        ['d/y/z', 'u4'],
        ['d/y/z', 'u5'],
        ['e', 'u6'],
        ['f/', 'u7'],
      ] as const) {
        await ns.createUpload(upload('b', key, id));
      }
      const whole = await ns.listUploads('b', { delimiter: '/', max: 100 });
      expect(whole.uploads.map((u) => u.uploadId)).toEqual(['u1', 'u2', 'u6']);
      expect(whole.prefixes).toEqual(['d/', 'f/']);
      expect(whole.truncated).toBe(false);
      expect(whole.next).toBeUndefined();
      // One entry a page, each page from the markers the previous one handed out.
      const seen: string[] = [];
      let q: Parameters<Namespace['listUploads']>[1] = { delimiter: '/', max: 1 };
      for (let i = 0; i < 10; i++) {
        const p = await ns.listUploads('b', q);
        seen.push(...p.uploads.map((u) => u.uploadId), ...p.prefixes);
        if (!p.truncated) break;
        expect(p.next).toBeDefined();
        q = { delimiter: '/', max: 1, ...p.next };
      }
      expect(seen).toEqual(['u1', 'u2', 'd/', 'u6', 'f/']);
      const two = await ns.listUploads('b', { delimiter: '/', max: 2 });
      expect(two.next).toEqual({ keyMarker: 'a', uploadIdMarker: 'u2' });
      const three = await ns.listUploads('b', { delimiter: '/', max: 3 });
      expect(three.next).toEqual({ keyMarker: 'd/' });
      // Under a prefix the delimiter counts from past the prefix.
      const d = await ns.listUploads('b', { prefix: 'd/', delimiter: '/', max: 100 });
      expect([d.uploads.map((u) => u.uploadId), d.prefixes]).toEqual([['u3'], ['d/y/']]);
      // Without a delimiter nothing rolls up; a full page that ends the listing is not truncated.
      const flat = await ns.listUploads('b', { max: 7 });
      expect([flat.uploads.length, flat.prefixes, flat.truncated]).toEqual([7, [], false]);
      const cut = await ns.listUploads('b', { max: 6 });
      expect([cut.truncated, cut.next]).toEqual([true, { keyMarker: 'e', uploadIdMarker: 'u6' }]);
    });

    it('completes atomically: object in, upload gone, unused parts queued, answer kept', async () => {
      let now = 1_000_000;
      const ns = await fresh({ now: () => now, completedTtlMs: 60_000 });
      const previous = obj('b', 'k');
      await ns.putObject(previous);
      await ns.createUpload(upload('b', 'k', 'u1'));
      const [p1, p2, p3] = [part('u1', 1), part('u1', 2), part('u1', 3)];
      for (const p of [p1, p2, p3]) await ns.putPart(p);
      const rec = obj('b', 'k', {
        parts: [p1, p3].map((p) => ({ fileId: p?.fileId ?? '', size: p?.size ?? 0 })),
        size: 2 * 5_242_880,
        etag: 'abc-2',
      });
      expect(await ns.completeUpload('u1', rec, { ifMatch: 'stale' })).toBe('precondition-failed');
      expect(await ns.getUpload('u1')).toBeDefined();
      expect(await ns.completeUpload('u1', rec, { ifMatch: previous.etag })).toBe('ok');
      expect(await ns.getObject('b', 'k')).toEqual(rec);
      expect(await ns.getUpload('u1')).toBeUndefined();
      expect(await ns.listParts('u1', 0, 100)).toEqual([]);
      expect((await ns.listUploads('b', { max: 10 })).uploads).toEqual([]);
      expect(await garbageIds(ns)).toEqual([previous.parts[0]?.fileId, p2?.fileId].sort());
      for (const p of [p1, p3]) expect(await ns.isReferenced(p?.fileId ?? '')).toBe(true);
      expect(await ns.completeUpload('u1', rec)).toBe('no-upload');
      expect(await ns.getCompleted('u1')).toEqual({
        uploadId: 'u1',
        bucket: 'b',
        key: 'k',
        etag: 'abc-2',
        completedAt: now,
      });
      now += 60_001;
      expect(await ns.getCompleted('u1')).toBeUndefined();
      expect(await ns.getCompleted('never')).toBeUndefined();
    });

    it('refuses to complete an upload onto another key', async () => {
      const ns = await fresh();
      await ns.createUpload(upload('b', 'k', 'u1'));
      const err = await ns.completeUpload('u1', obj('b', 'other')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FdfsError);
      expect(await ns.getObject('b', 'other')).toBeUndefined();
      expect(await ns.getUpload('u1')).toBeDefined();
    });

    it('aborts once, queueing every part’s file', async () => {
      const ns = await fresh();
      await ns.createUpload(upload('b', 'k', 'u1'));
      const parts = [part('u1', 1), part('u1', 2)];
      for (const p of parts) await ns.putPart(p);
      expect(await ns.abortUpload('u1')).toBe(true);
      expect(await ns.abortUpload('u1')).toBe(false);
      expect(await ns.getUpload('u1')).toBeUndefined();
      expect(await ns.putPart(part('u1', 3))).toBe('no-upload');
      expect(await garbageIds(ns)).toEqual(parts.map((p) => p.fileId).sort());
    });

    it('deleteBucket aborts the bucket’s open uploads with it, and only those', async () => {
      const ns = await fresh();
      await ns.createBucket({ name: 'keep', owner: OWNER, createdAt: 1, public: false });
      await ns.createUpload(upload('b', 'k', 'u1'));
      await ns.createUpload(upload('keep', 'k', 'u2'));
      const p = part('u1', 1);
      await ns.putPart(p);
      await ns.putPart(part('u2', 1));
      expect(await ns.deleteBucket('b')).toBe('deleted');
      expect(await ns.getUpload('u1')).toBeUndefined();
      expect(await ns.getUpload('u2')).toBeDefined();
      expect(await garbageIds(ns)).toEqual([p.fileId]);
      expect(await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 2, public: false })).toBe('created');
      expect((await ns.listUploads('b', { max: 10 })).uploads).toEqual([]);
      expect(await ns.createUpload(upload('b', 'k', 'u3'))).toBe('ok');
    });
  });
}
