/** Conformance: upload intents (recorded before an S3 upload's file exists, cleared after commit). */
import { afterEach, describe, expect, it } from 'vitest';
import type { Namespace } from '../../src/namespace/index.js';
import type { NamespaceFactory } from './fixtures.js';

export function intentCases(factory: NamespaceFactory): void {
  let ns: Namespace | undefined;
  afterEach(async () => {
    await ns?.close();
    ns = undefined;
  });

  describe('upload intents', () => {
    it('records in order, clears finished ones with the next record, survives a reopen', async () => {
      const h = await factory.fresh();
      ns = h.ns;
      const a = await ns.recordIntent({ group: 'group1', size: 5, crc32: 0xdeadbeef, at: 1000 });
      const b = await ns.recordIntent({ group: '', size: 0, crc32: 0, at: 2000 });
      expect(b).toBeGreaterThan(a);
      expect(await ns.listIntents(10)).toEqual([
        { id: a, group: 'group1', size: 5, crc32: 0xdeadbeef, at: 1000 },
        { id: b, group: '', size: 0, crc32: 0, at: 2000 },
      ]);
      const c = await ns.recordIntent({ group: 'group1', size: 7, crc32: 1, at: 3000 }, [a, -1, 2 ** 60]);
      expect((await ns.listIntents(10)).map((i) => i.id)).toEqual([b, c]);
      expect((await ns.listIntents(1)).map((i) => i.id)).toEqual([b]);
      ns = await h.reopen();
      expect((await ns.listIntents(10)).map((i) => i.id)).toEqual([b, c]);
      await ns.clearIntents([b, c, 999]);
      expect(await ns.listIntents(10)).toEqual([]);
      // Ids are never reused, so a late clear of an old id cannot drop a new intent.
      expect(await ns.recordIntent({ group: 'g', size: 1, crc32: 1, at: 1 })).toBeGreaterThan(c);
    });
  });
}
