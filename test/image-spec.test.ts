/** The pure part of image variants: query → spec, spec → slave prefix and back, Accept → format. */
import { describe, expect, it } from 'vitest';
import { defaultHttpConfig } from '../src/config/index.js';
import {
  canonicalQuery,
  outputFormat,
  parseVariantName,
  parseVariantQuery,
  prefixOf,
} from '../src/image/index.js';

const cfg = defaultHttpConfig(new Map([['http.image.presets', ['200x200, 800x0']]])).config.image;
const q = (s: string) => parseVariantQuery(new URLSearchParams(s), cfg);

describe('variant queries', () => {
  it.each([
    ['w=200&h=200', '_200x200', 'w=200&h=200&fit=cover'],
    ['w=200&h=200&fit=contain&fmt=webp', '_200x200c', 'w=200&h=200&fit=contain&fmt=webp'],
    ['h=300&w=300&fit=inside&q=90', '_300x300i_q90', 'w=300&h=300&fit=inside&q=90'],
    ['w=800&fit=contain', '_800x0', 'w=800&h=0&fit=cover'], // one side: fit is moot, one name
    ['w=200&h=200&q=80', '_200x200', 'w=200&h=200&fit=cover'], // the default quality is no q
    ['fmt=avif', '_0x0', 'w=0&h=0&fit=cover&fmt=avif'],
    ['w=9&h=4096&fmt=jpg', '_9x4096', 'w=9&h=4096&fit=cover&fmt=jpeg'],
  ])('%s → %s', (query, prefix, canonical) => {
    const spec = q(query);
    expect(prefixOf(spec)).toBe(prefix);
    expect(canonicalQuery(spec)).toBe(canonical);
    expect(q(canonicalQuery(spec))).toEqual(spec);
    expect(
      prefixOf({ width: 9999, height: 9999, fit: 'inside', format: undefined, quality: 100 }).length,
    ).toBe(16);
  });

  it.each([
    'w=4097',
    'w=-1',
    'w=1e3',
    'w=200&w=300',
    'fit=fill&w=1',
    'fmt=gif&w=1',
    'q=0&w=1',
    'q=101&w=1',
    'w=0&h=0',
    'q=50',
  ])('refuses %s', (query) => {
    expect(() => q(query)).toThrow(expect.objectContaining({ code: 'FDFS_ERR_EINVAL' }));
  });
});

describe('slave names', () => {
  const stem = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569';
  it('reads back what prefixOf writes, in the output formats only', () => {
    expect(parseVariantName(`${stem}_200x200.jpg`, cfg)).toMatchObject({
      stem,
      prefix: '_200x200',
      ext: 'jpg',
      format: 'jpeg',
    });
    expect(parseVariantName(`${stem}_300x200i_q90.webp`, cfg)?.spec).toEqual({
      width: 300,
      height: 200,
      fit: 'inside',
      format: 'webp',
      quality: 90,
    });
    for (const odd of [
      '_0200x200.jpg',
      '_200x0c.jpg',
      '_200x200_q80.jpg',
      '_0x0.jpg',
      '_200x200.gif',
      '_200x200',
      '_5000x1.jpg',
    ]) {
      expect(parseVariantName(`${stem}${odd}`, cfg), odd).toBeUndefined();
    }
  });
});

describe('fmt=auto', () => {
  const auto = q('w=200&h=200&fmt=auto');
  it.each([
    ['image/avif,image/webp,*/*', 'jpg', 'avif'],
    ['image/webp,*/*;q=0.8', 'jpg', 'webp'],
    ['image/avif;q=0, image/webp', 'jpg', 'webp'],
    ['image/AVIF;q=0.5', 'jpg', 'avif'],
    ['*/*', 'png', 'png'],
    ['image/*', 'webp', 'jpeg'],
    [undefined, 'jpg', 'jpeg'],
  ])('Accept %s for a .%s master → %s', (accept, ext, format) => {
    expect(outputFormat(auto, ext, accept)).toBe(format);
  });
});
