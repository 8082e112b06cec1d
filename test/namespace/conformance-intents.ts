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

    it('gives each of many concurrent records its own id, and clears what each one names', async () => {
      const h = await factory.fresh();
      ns = h.ns;
      const store = ns;
      const first = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.recordIntent({ group: `g${i}`, size: i, crc32: i * 7, at: i }),
        ),
      );
      expect(new Set(first).size).toBe(50);
      const byId = new Map((await ns.listIntents(100)).map((i) => [i.id, i]));
      first.forEach((id, i) => {
        expect(byId.get(id)).toEqual({ id, group: `g${i}`, size: i, crc32: i * 7, at: i });
      });
      // Each of a second wave clears two of the first.
      const second = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          store.recordIntent({ group: 'h', size: 100 + i, crc32: 0, at: 100 + i }, [
            first[2 * i] as number,
            first[2 * i + 1] as number,
          ]),
        ),
      );
      expect((await ns.listIntents(100)).map((i) => i.id).sort((a, b) => a - b)).toEqual(
        [...second].sort((a, b) => a - b),
      );
    });
  });
}
