/**
 * Conformance: files borrowed by `fdfs s3 import` (ObjectPart.borrowed) are never queued for
 * deletion, and WriteCondition.requireUnknown refuses every file the namespace knows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Namespace, ObjectRecord } from '../../src/namespace/index.js';
import { fid, type NamespaceFactory, OWNER, obj, upload } from './fixtures.js';

/** What fdfs s3 import commits: one borrowed part, under the file's own path. */
function imported(key: string): ObjectRecord {
  const fileId = fid();
  return obj('b', key, { parts: [{ fileId, size: 5, borrowed: true }] });
}

export function borrowedCases(factory: NamespaceFactory): void {
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

  describe('borrowed files', () => {
    it('keeps the borrowed mark on the part and never queues the file, deleted or overwritten', async () => {
      const ns = await fresh();
      const a = imported('a');
      const fileId = a.parts[0]?.fileId ?? '';
      expect(await ns.putObject(a)).toBe('ok');
      expect((await ns.getObject('b', 'a'))?.parts).toEqual([{ fileId, size: 5, borrowed: true }]);
      // A copy shares the file without the flag (CopyObject passes parts on; UploadPartCopy does not).
      await ns.putObject({ ...obj('b', 'copy'), parts: [{ fileId, size: 5 }] });
      await ns.createUpload(upload('b', 'm', 'u1'));
      await ns.putPart({ uploadId: 'u1', partNumber: 1, fileId, size: 5, etag: 'x', lastModified: 1 });
      await ns.deleteObject('b', 'a');
      await ns.putObject(obj('b', 'copy'));
      expect(await ns.abortUpload('u1')).toBe(true);
      // Only the fresh object written over 'copy' made garbage, which it did not: nothing queued.
      expect(await ns.takeGarbage(10)).toEqual([]);
      expect(await ns.isReferenced(fileId)).toBe(true);

      const b = imported('b2');
      await ns.putObject(b);
      const plain = obj('b', 'b2');
      await ns.putObject(plain);
      await ns.deleteObject('b', 'b2');
      expect((await ns.takeGarbage(10)).map((g) => g.fileId)).toEqual([plain.parts[0]?.fileId]);
    });

    it('refuses requireUnknown for a named, a queued or a once-borrowed file, and takes an unknown one', async () => {
      const ns = await fresh();
      const s3 = obj('b', 's3');
      const s3File = s3.parts[0]?.fileId ?? '';
      await ns.putObject(s3);
      const onto = (key: string, fileId: string) =>
        ns.putObject(
          { ...obj('b', key), parts: [{ fileId, size: 5, borrowed: true }] },
          { ifNoneMatch: '*', requireUnknown: [fileId] },
        );
      expect(await onto('named', s3File)).toBe('precondition-failed');
      await ns.deleteObject('b', 's3');
      expect(await onto('queued', s3File)).toBe('precondition-failed');
      expect(await ns.getObject('b', 'queued')).toBeUndefined();
      // Still queued: the refused import took nothing out of the queue.
      expect((await ns.takeGarbage(10)).map((g) => g.fileId)).toEqual([s3File]);

      const fresh1 = fid();
      expect(await onto('fresh', fresh1)).toBe('ok');
      expect(await onto('fresh', fid())).toBe('precondition-failed');
      expect(await onto('other', fresh1)).toBe('precondition-failed');
      await ns.deleteObject('b', 'fresh');
      expect(await ns.isReferenced(fresh1)).toBe(true);
      expect(await onto('again', fresh1)).toBe('precondition-failed');
      expect(await ns.takeGarbage(10)).toEqual([{ seq: expect.any(Number), fileId: s3File }]);
    });

    it('survives a reopen', async () => {
      const h = await factory.fresh();
      await h.ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
      const a = imported('a');
      const fileId = a.parts[0]?.fileId ?? '';
      await h.ns.putObject(a);
      ns = await h.reopen();
      await ns.deleteObject('b', 'a');
      expect(await ns.takeGarbage(10)).toEqual([]);
      expect(await ns.isReferenced(fileId)).toBe(true);
    });
  });
}
