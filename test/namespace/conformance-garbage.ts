/** Conformance: reference-counted files and the garbage queue. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Namespace } from '../../src/namespace/index.js';
import { fid, type NamespaceFactory, OWNER, obj, upload } from './fixtures.js';

export function garbageCases(factory: NamespaceFactory): void {
  let ns: Namespace | undefined;
  afterEach(async () => {
    await ns?.close();
    ns = undefined;
  });
  async function fresh(): Promise<Namespace> {
    const h = await factory.fresh();
    await h.ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
    ns = h.ns;
    return h.ns;
  }

  describe('garbage', () => {
    it('answers many concurrent isReferenced, each for its own file', async () => {
      const ns = await fresh();
      const named = Array.from({ length: 20 }, (_, i) => obj('b', `k${i}`));
      for (const r of named) await ns.putObject(r);
      const ids = named.flatMap((r, i) => [r.parts[0]?.fileId ?? '', `group1/M00/00/00/none${i}.bin`]);
      const answers = await Promise.all(ids.map((id) => ns.isReferenced(id)));
      expect(answers).toEqual(ids.map((_, i) => i % 2 === 0));
    });

    it('queues a shared file only when its last reference goes', async () => {
      const ns = await fresh();
      const a = obj('b', 'a');
      const copy = { ...a, key: 'copy' };
      await ns.putObject(a);
      await ns.putObject(copy);
      await ns.createUpload(upload('b', 'm', 'u1'));
      // UploadPartCopy: a part naming the same file.
      const fileId = a.parts[0]?.fileId ?? '';
      await ns.putPart({ uploadId: 'u1', partNumber: 1, fileId, size: 5, etag: 'x', lastModified: 1 });
      await ns.deleteObject('b', 'a');
      expect(await ns.takeGarbage(10)).toEqual([]);
      await ns.putObject(obj('b', 'copy'));
      expect(await ns.takeGarbage(10)).toEqual([]);
      expect(await ns.isReferenced(fileId)).toBe(true);
      await ns.abortUpload('u1');
      const g = await ns.takeGarbage(10);
      expect(g.map((x) => x.fileId)).toEqual([fileId]);
      expect(await ns.isReferenced(fileId)).toBe(false);
    });

    it('never queues the files of an object rewritten onto themselves', async () => {
      const ns = await fresh();
      const a = obj('b', 'a');
      await ns.putObject(a);
      await ns.putObject({ ...a, meta: { changed: 'yes' } });
      expect(await ns.takeGarbage(10)).toEqual([]);
      expect((await ns.getObject('b', 'a'))?.meta).toEqual({ changed: 'yes' });
    });

    it('hands out oldest first with rising sequence numbers, forgets only what is acknowledged', async () => {
      const ns = await fresh();
      const recs = Array.from({ length: 5 }, (_, i) => obj('b', `k${i}`));
      for (const r of recs) await ns.putObject(r);
      for (const r of recs) await ns.deleteObject('b', r.key);
      const all = await ns.takeGarbage(100);
      expect(all.map((g) => g.fileId)).toEqual(recs.map((r) => r.parts[0]?.fileId));
      const seqs = all.map((g) => g.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(5);
      expect(await ns.takeGarbage(2)).toEqual(all.slice(0, 2));
      await ns.ackGarbage([all[0]?.seq ?? 0, all[2]?.seq ?? 0, -1, 0.5, 2 ** 60]);
      expect(await ns.takeGarbage(100)).toEqual([all[1], all[3], all[4]]);
      await ns.ackGarbage(all.map((g) => g.seq));
      expect(await ns.takeGarbage(100)).toEqual([]);
      expect(await ns.takeGarbage(0)).toEqual([]);
    });

    it('takes a queued file back out of the queue when something names it again', async () => {
      const ns = await fresh();
      const a = obj('b', 'a');
      await ns.putObject(a);
      await ns.deleteObject('b', 'a');
      expect(await ns.takeGarbage(10)).toHaveLength(1);
      await ns.putObject({ ...a, key: 'again' });
      expect(await ns.takeGarbage(10)).toEqual([]);
      await ns.deleteObject('b', 'again');
      expect((await ns.takeGarbage(10)).map((g) => g.fileId)).toEqual([a.parts[0]?.fileId]);
    });

    it('refuses a copy whose shared files lost their last reference before it committed', async () => {
      const ns = await fresh();
      const src = obj('b', 'src');
      const fileId = src.parts[0]?.fileId ?? '';
      await ns.putObject(src);
      const copy = { ...src, key: 'copy' };
      expect(await ns.putObject(copy, { requireReferenced: [fileId] })).toBe('ok');
      await ns.deleteObject('b', 'src');
      await ns.deleteObject('b', 'copy');
      // The copy read its source before the deletes; its commit comes after them.
      expect(await ns.putObject({ ...copy, key: 'late' }, { requireReferenced: [fileId] })).toBe(
        'precondition-failed',
      );
      expect(await ns.getObject('b', 'late')).toBeUndefined();
      expect((await ns.takeGarbage(10)).map((g) => g.fileId)).toEqual([fileId]);
      await ns.createUpload(upload('b', 'm', 'u1'));
      const done = obj('b', 'm', { parts: [{ fileId, size: 5 }] });
      expect(await ns.completeUpload('u1', done, { requireReferenced: [fileId] })).toBe(
        'precondition-failed',
      );
    });

    it('refuses a part copy whose shared file lost its last reference before it committed', async () => {
      const ns = await fresh();
      const src = obj('b', 'src');
      const fileId = src.parts[0]?.fileId ?? '';
      await ns.putObject(src);
      await ns.createUpload(upload('b', 'm', 'u1'));
      const part = { uploadId: 'u1', partNumber: 1, fileId, size: 5, etag: 'x', lastModified: 1 };
      expect(await ns.putPart(part, { requireReferenced: [fileId] })).toBe('ok');
      await ns.abortUpload('u1');
      await ns.createUpload(upload('b', 'm', 'u2'));
      // UploadPartCopy read its source, then a DeleteObject queued the file before the part committed.
      await ns.deleteObject('b', 'src');
      const late = { ...part, uploadId: 'u2' };
      expect(await ns.putPart(late, { requireReferenced: [fileId] })).toBe('precondition-failed');
      expect(await ns.listParts('u2', 0, 10)).toEqual([]);
      expect((await ns.takeGarbage(10)).map((g) => g.fileId)).toEqual([fileId]);
      expect(await ns.isReferenced(fileId)).toBe(false);
      // An unknown upload is still 'no-upload', whatever the condition.
      expect(await ns.putPart({ ...part, uploadId: 'gone' }, { requireReferenced: [fileId] })).toBe(
        'no-upload',
      );
    });

    it('counts a file named twice in one object twice', async () => {
      const ns = await fresh();
      const f = fid();
      const twice = obj('b', 't', {
        parts: [
          { fileId: f, size: 1 },
          { fileId: f, size: 1 },
        ],
      });
      await ns.putObject(twice);
      await ns.putObject(obj('b', 'u', { parts: [{ fileId: f, size: 1 }] }));
      await ns.deleteObject('b', 't');
      expect(await ns.takeGarbage(10)).toEqual([]);
      await ns.deleteObject('b', 'u');
      expect((await ns.takeGarbage(10)).map((g) => g.fileId)).toEqual([f]);
    });
  });
}
