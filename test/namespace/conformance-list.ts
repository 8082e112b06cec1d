/** Conformance: ListObjects in UTF-8 byte order, prefix and delimiter, pages that add up. */
import { afterEach, describe, expect, it } from 'vitest';
import type { ListQuery, Namespace } from '../../src/namespace/index.js';
import { byteOrder, entries, modelList, type NamespaceFactory, OWNER, obj } from './fixtures.js';

/**
 * Awkward names: multibyte letters, a supplementary-plane emoji (UTF-16 order would put it before
 * U+FF5E, UTF-8 after), DEL, spaces, the delimiter doubled, a key equal to a prefix.
 */
const KEYS = [
  'a',
  'a/',
  'a/1',
  'a/2',
  'a/b/1',
  'a/b/2',
  'a/b/c/3',
  'a//x',
  'a0',
  'ab',
  'a b',
  'b',
  'c/x/y',
  'c/z',
  'd-1-x',
  'd-1-y',
  'd-2',
  'd',
  'é',
  'é/1',
  'éa/1',
  'ü',
  'z',
  'Z',
  '\u007f',
  '～',
  '😀',
  '😀/x',
  'ﬀ',
  'sub dir/x y.png',
  'a&b+c.txt',
  'quote"s\'.txt',
];

async function filled(factory: NamespaceFactory): Promise<Namespace> {
  const { ns } = await factory.fresh();
  await ns.createBucket({ name: 'b', owner: OWNER, createdAt: 1, public: false });
  await ns.createBucket({ name: 'b0', owner: OWNER, createdAt: 1, public: false });
  await Promise.all(KEYS.map((k) => ns.putObject(obj('b', k))));
  // A neighbouring bucket whose name extends this one's: none of its keys may leak in.
  await ns.putObject(obj('b0', 'a/leak'));
  return ns;
}

/** Pages through a listing by `last` and returns the entries in order. */
async function pageAll(ns: Namespace, q: ListQuery): Promise<string[]> {
  const got: string[] = [];
  let after = q.after;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await ns.listObjects('b', { ...q, ...(after !== undefined && { after }) });
    expect(page.objects.length + page.prefixes.length).toBeLessThanOrEqual(q.maxKeys);
    got.push(...entries(page));
    if (!page.truncated) return got;
    expect(page.last).toBe(entries(page).at(-1));
    after = page.last;
  }
  throw new Error('listing never ended');
}

export function listingCases(factory: NamespaceFactory): void {
  let ns: Namespace | undefined;
  afterEach(async () => {
    await ns?.close();
    ns = undefined;
  });

  describe('listing', () => {
    it('lists keys in UTF-8 byte order, not UTF-16 order', async () => {
      ns = await filled(factory);
      const page = await ns.listObjects('b', { maxKeys: 1000 });
      const keys = page.objects.map((o) => o.key);
      expect(keys).toEqual([...KEYS].sort(byteOrder));
      expect(keys.indexOf('😀')).toBeGreaterThan(keys.indexOf('～'));
      expect(page.truncated).toBe(false);
      expect(page.prefixes).toEqual([]);
      expect(page.objects.every((o) => o.bucket === 'b')).toBe(true);
    });

    it('rolls keys up into common prefixes, nested and with other delimiters', async () => {
      ns = await filled(factory);
      const top = await ns.listObjects('b', { delimiter: '/', maxKeys: 1000 });
      expect(top.prefixes).toEqual(['a/', 'c/', 'sub dir/', 'é/', 'éa/', '😀/']);
      expect(top.objects.map((o) => o.key)).toContain('a');
      expect(top.objects.map((o) => o.key)).not.toContain('a/1');
      const a = await ns.listObjects('b', { prefix: 'a/', delimiter: '/', maxKeys: 1000 });
      expect(a.objects.map((o) => o.key)).toEqual(['a/', 'a/1', 'a/2']);
      expect(a.prefixes).toEqual(['a//', 'a/b/']);
      const ab = await ns.listObjects('b', { prefix: 'a/b/', delimiter: '/', maxKeys: 1000 });
      expect(ab.objects.map((o) => o.key)).toEqual(['a/b/1', 'a/b/2']);
      expect(ab.prefixes).toEqual(['a/b/c/']);
      const dash = await ns.listObjects('b', { prefix: 'd', delimiter: '-', maxKeys: 1000 });
      expect(dash.objects.map((o) => o.key)).toEqual(['d']);
      expect(dash.prefixes).toEqual(['d-']);
      const dash2 = await ns.listObjects('b', { prefix: 'd-', delimiter: '-', maxKeys: 1000 });
      expect(dash2.prefixes).toEqual(['d-1-']);
      expect(dash2.objects.map((o) => o.key)).toEqual(['d-2']);
      // A multibyte delimiter and a prefix that is not followed by it.
      const e = await ns.listObjects('b', { delimiter: 'é', maxKeys: 1000 });
      expect(e.prefixes).toEqual(['é']);
      const prefixOnly = await ns.listObjects('b', { prefix: 'a/b', maxKeys: 1000 });
      expect(prefixOnly.objects.map((o) => o.key)).toEqual(['a/b/1', 'a/b/2', 'a/b/c/3']);
      expect(await ns.listObjects('b', { prefix: 'nothing', delimiter: '/', maxKeys: 10 })).toEqual({
        objects: [],
        prefixes: [],
        truncated: false,
      });
    });

    it('matches the reference model for every query, whole and page by page', async () => {
      ns = await filled(factory);
      const queries: ListQuery[] = [];
      for (const prefix of [undefined, '', 'a', 'a/', 'a/b/', 'd', 'é', '😀', 'zz']) {
        for (const delimiter of [undefined, '/', '-', 'b', 'é', '//']) {
          for (const after of [undefined, 'a/', 'a0', 'é/1']) {
            queries.push({
              maxKeys: 1000,
              ...(prefix !== undefined && { prefix }),
              ...(delimiter !== undefined && { delimiter }),
              ...(after !== undefined && { after }),
            });
          }
        }
      }
      for (const q of queries) {
        const model = modelList(KEYS, q);
        const whole = await ns.listObjects('b', q);
        const label = JSON.stringify(q);
        expect(
          whole.objects.map((o) => o.key),
          label,
        ).toEqual(model.keys);
        expect(whole.prefixes, label).toEqual(model.prefixes);
        expect(whole.truncated, label).toBe(false);
        for (const maxKeys of [1, 4]) {
          expect(await pageAll(ns, { ...q, maxKeys }), `${label} by ${maxKeys}`).toEqual(model.all);
        }
      }
    }, 30_000);

    it('says truncated only when more remains, and nothing for max-keys 0', async () => {
      ns = await filled(factory);
      const n = KEYS.length;
      expect((await ns.listObjects('b', { maxKeys: n })).truncated).toBe(false);
      const short = await ns.listObjects('b', { maxKeys: n - 1 });
      expect(short.truncated).toBe(true);
      expect(short.objects).toHaveLength(n - 1);
      const top = await ns.listObjects('b', { delimiter: '/', maxKeys: 1000 });
      const exact = top.objects.length + top.prefixes.length;
      expect((await ns.listObjects('b', { delimiter: '/', maxKeys: exact })).truncated).toBe(false);
      const zero = await ns.listObjects('b', { maxKeys: 0 });
      expect(zero.objects).toEqual([]);
      expect(zero.prefixes).toEqual([]);
    });
  });
}
