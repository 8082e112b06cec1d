/**
 * What a variant URL asks for, pure: `?w=&h=&fit=&fmt=&q=` in, a VariantSpec out; the slave
 * prefix a spec is stored under (`_200x200`, `_300x0i_q90`) and back; Accept → output format.
 */
import { FdfsError, Status } from '../common/index.js';
import type { ImageConfig } from '../config/index.js';
import { fail } from '../gateway/index.js';

export type Fit = 'cover' | 'contain' | 'inside';
export type Format = 'jpeg' | 'png' | 'webp' | 'avif';

export interface VariantSpec {
  /** 0 = follows the other side (keeps the aspect ratio). */
  readonly width: number;
  readonly height: number;
  /** How both sides are met when both are given; always 'cover' when one is 0. */
  readonly fit: Fit;
  /** undefined: the master's own format (by extension), 'auto': the best the client Accepts. */
  readonly format: Format | 'auto' | undefined;
  /** undefined: http.image.quality. */
  readonly quality: number | undefined;
}

export const VARIANT_PARAMS: readonly string[] = ['w', 'h', 'fit', 'fmt', 'q'];
const FITS: readonly Fit[] = ['cover', 'contain', 'inside'];
const FIT_LETTER: Readonly<Record<Fit, string>> = { cover: '', contain: 'c', inside: 'i' };
const FORMAT_OF_EXT: Readonly<Record<string, Format>> = {
  jpg: 'jpeg',
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
};

export function wantsVariant(q: URLSearchParams | undefined): boolean {
  return q !== undefined && VARIANT_PARAMS.some((p) => q.has(p));
}

function one(q: URLSearchParams, name: string): string | undefined {
  const all = q.getAll(name);
  if (all.length > 1) throw fail.badRequest(`image variant: ${name} given ${all.length} times`);
  return all[0];
}

function side(q: URLSearchParams, name: string, max: number): number {
  const v = one(q, name);
  if (v === undefined || v === '') return 0;
  if (!/^\d{1,4}$/.test(v) || Number(v) > max) {
    throw fail.badRequest(`image variant: ${name} must be a whole number of pixels from 0 to ${max}`);
  }
  return Number(v);
}

/** The spec a query asks for (400 on anything malformed); q equal to the default is dropped. */
export function parseVariantQuery(q: URLSearchParams, cfg: ImageConfig): VariantSpec {
  const width = side(q, 'w', cfg.maxDimension);
  const height = side(q, 'h', cfg.maxDimension);
  const fitText = one(q, 'fit') || 'cover';
  const fit = FITS.find((f) => f === fitText);
  if (fit === undefined) throw fail.badRequest(`image variant: fit must be one of ${FITS.join(', ')}`);
  const fmtText = one(q, 'fmt') || undefined;
  const format = fmtText === 'auto' ? 'auto' : fmtText === undefined ? undefined : FORMAT_OF_EXT[fmtText];
  if (fmtText !== undefined && format === undefined) {
    throw fail.badRequest('image variant: fmt must be one of webp, avif, jpeg, png, auto');
  }
  const qText = one(q, 'q') || undefined;
  if (qText !== undefined && (!/^\d{1,3}$/.test(qText) || Number(qText) < 1 || Number(qText) > 100)) {
    throw fail.badRequest('image variant: q must be a whole number from 1 to 100');
  }
  if (width + height === 0 && format === undefined) {
    throw fail.badRequest('image variant: give w, h or fmt');
  }
  const quality = qText === undefined || Number(qText) === cfg.quality ? undefined : Number(qText);
  return { width, height, fit: width === 0 || height === 0 ? 'cover' : fit, format, quality };
}

/** The variant as a query, the same for every way of writing it: what a signed link names. */
export function canonicalQuery(s: VariantSpec): string {
  const fmt = s.format === undefined ? '' : `&fmt=${s.format}`;
  const q = s.quality === undefined ? '' : `&q=${s.quality}`;
  return `w=${s.width}&h=${s.height}&fit=${s.fit}${fmt}${q}`;
}

/** Whether anyone may have it rendered: a configured size at the default quality. */
export function isPreset(s: VariantSpec, cfg: ImageConfig): boolean {
  return s.quality === undefined && cfg.presets.some((p) => p.width === s.width && p.height === s.height);
}

/** The slave prefix (≤ 16 characters): `_<w>x<h>`, `c`/`i` for contain/inside, `_q<q>` if not default. */
export function prefixOf(s: VariantSpec): string {
  return `_${s.width}x${s.height}${FIT_LETTER[s.fit]}${s.quality === undefined ? '' : `_q${s.quality}`}`;
}

export function extOfFormat(f: Format): string {
  return f === 'jpeg' ? 'jpg' : f;
}

export function formatOfExt(ext: string): Format | undefined {
  return FORMAT_OF_EXT[ext.toLowerCase()];
}

/** The extension of a remote filename as FastDFS cuts it (first '.' in the last 7 chars), or ''. */
export function extOfName(remote: string): string {
  const dot = remote.indexOf('.', remote.length - 7);
  return dot < 0 ? '' : remote.slice(dot + 1);
}

/** The format a spec gives for a master with extension `masterExt` and a client's Accept. */
export function outputFormat(s: VariantSpec, masterExt: string, accept: string | undefined): Format {
  const own = formatOfExt(masterExt);
  if (s.format === 'auto') {
    if (accepts(accept, 'image/avif')) return 'avif';
    if (accepts(accept, 'image/webp')) return 'webp';
    return own === 'png' ? 'png' : 'jpeg';
  }
  return s.format ?? own ?? 'jpeg';
}

/** Whether Accept names `type` exactly with a q above 0 (wildcards do not choose AVIF or WebP). */
export function accepts(accept: string | undefined, type: string): boolean {
  // Media types are case-insensitive (RFC 9110 §8.3.1).
  const text = accept?.toLowerCase();
  if (text === undefined || !text.includes(type)) return false;
  for (const part of text.split(',')) {
    const [media = '', ...params] = part.split(';').map((x) => x.trim());
    if (media !== type) continue;
    const qp = params.find((p) => /^q=/i.test(p));
    return qp === undefined || Number(qp.slice(2)) > 0;
  }
  return false;
}

export interface VariantName {
  /** The master's remote filename without its extension. */
  readonly stem: string;
  readonly prefix: string;
  readonly ext: string;
  readonly spec: VariantSpec;
  readonly format: Format;
}

const NAME = /^(.+)(_(\d{1,4})x(\d{1,4})([ci]?)(?:_q(\d{1,3}))?)\.([A-Za-z]{3,4})$/;

/**
 * The variant a slave name is (`…/<master stem>_200x200.jpg`), when it is written exactly as
 * prefixOf writes it and ends in an output format's extension; else undefined.
 */
export function parseVariantName(remote: string, cfg: ImageConfig): VariantName | undefined {
  const m = NAME.exec(remote);
  if (m === null) return undefined;
  const [, stem = '', prefix = '', w, h, letter, q, ext = ''] = m;
  const format = formatOfExt(ext);
  const width = Number(w);
  const height = Number(h);
  if (format === undefined || width > cfg.maxDimension || height > cfg.maxDimension) return undefined;
  const fit = FITS.find((f) => FIT_LETTER[f] === letter) ?? 'cover';
  const quality = q === undefined ? undefined : Number(q);
  if (quality !== undefined && (quality < 1 || quality > 100 || quality === cfg.quality)) return undefined;
  if (width + height === 0 || (fit !== 'cover' && (width === 0 || height === 0))) return undefined;
  const spec: VariantSpec = { width, height, fit, format, quality };
  // One name per variant: `_0200x200` or `_200x0c` are not how variants are stored.
  if (prefixOf(spec) !== prefix) return undefined;
  return { stem, prefix, ext, spec, format };
}

/** Errors a render raises about the master itself (counted as refused, not failed). */
export function isRefusal(err: unknown): boolean {
  return (
    err instanceof FdfsError &&
    (err.status === Status.EMEDIUMTYPE || err.status === Status.EFBIG || err.status === Status.ENOENT)
  );
}
