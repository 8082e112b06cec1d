/**
 * One render with sharp (libvips): header first, so a file that is no image (415) or has too many
 * pixels (413) is refused before a single pixel is decoded; then resize, encode, under a deadline.
 * sharp is loaded on the first render, so a gateway that never renders never loads libvips.
 */
import type { Sharp, SharpOptions } from 'sharp';
import { FdfsError, Status } from '../common/index.js';
import type { ImageConfig } from '../config/index.js';
import { spoken } from '../gateway/index.js';
import type { Format, VariantSpec } from './spec.js';

type SharpFn = (input: Buffer, options?: SharpOptions) => Sharp;
let loaded: Promise<SharpFn> | undefined;

function sharpOf(): Promise<SharpFn> {
  loaded ??= import('sharp').then((m) => m.default as SharpFn);
  return loaded;
}

/** Formats we decode; others (svg, pdf, raw camera files …) are not rendered. */
const INPUTS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'heif', 'tiff']);
const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };
const CLEAR = { r: 0, g: 0, b: 0, alpha: 0 };

export interface Rendered {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

const say = (status: number, message: string, fileId: string, cause?: unknown) =>
  spoken(new FdfsError(status, message, cause === undefined ? { fileId } : { fileId, cause }));

/** Header only: the master's size in pixels, or the refusal. */
async function checkHeader(sharp: SharpFn, input: Buffer, cfg: ImageConfig, fileId: string): Promise<void> {
  let meta: Awaited<ReturnType<Sharp['metadata']>>;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch {
    throw say(Status.EMEDIUMTYPE, `${fileId} is not an image this gateway can read`, fileId);
  }
  const { format, width = 0, height = 0 } = meta;
  if (format === undefined || !INPUTS.has(format) || width === 0 || height === 0) {
    throw say(
      Status.EMEDIUMTYPE,
      `${fileId} is not an image this gateway renders (${format ?? 'unknown'})`,
      fileId,
    );
  }
  if (width * height > cfg.maxPixels) {
    throw say(
      Status.EFBIG,
      `${fileId} is ${width}×${height} pixels, more than http.image.max_pixels (${cfg.maxPixels})`,
      fileId,
    );
  }
}

function encode(img: Sharp, format: Format, quality: number): Sharp {
  switch (format) {
    case 'jpeg':
      return img.flatten({ background: WHITE }).jpeg({ quality });
    case 'png':
      return img.png({ compressionLevel: 6 });
    case 'webp':
      return img.webp({ quality });
    case 'avif':
      return img.avif({ quality });
  }
}

export async function render(
  input: Buffer,
  spec: VariantSpec,
  format: Format,
  cfg: ImageConfig,
  fileId: string,
): Promise<Rendered> {
  const sharp = await sharpOf();
  await checkHeader(sharp, input, cfg, fileId);
  // limitInputPixels again: the header check is ours, this one is libvips' own on decode.
  let img = sharp(input, { limitInputPixels: cfg.maxPixels, autoOrient: true, sequentialRead: true });
  if (spec.width > 0 || spec.height > 0) {
    img = img.resize({
      ...(spec.width > 0 ? { width: spec.width } : {}),
      ...(spec.height > 0 ? { height: spec.height } : {}),
      fit: spec.fit,
      withoutEnlargement: true,
      background: format === 'jpeg' ? WHITE : CLEAR,
    });
  }
  img = encode(img, format, spec.quality ?? cfg.quality).timeout({
    seconds: Math.max(1, Math.ceil(cfg.renderTimeout / 1000)),
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          say(
            Status.ETIMEDOUT,
            `rendering a variant of ${fileId} took longer than http.image.render_timeout`,
            fileId,
          ),
        ),
      cfg.renderTimeout,
    );
  });
  try {
    const work = img.toBuffer({ resolveWithObject: true }).catch((err: unknown) => {
      throw say(Status.EMEDIUMTYPE, `${fileId} could not be decoded as an image`, fileId, err);
    });
    // Past the deadline libvips stops by its own timeout; its late failure is nobody's answer.
    work.catch(() => {});
    const { data, info } = await Promise.race([work, deadline]);
    return { data, width: info.width, height: info.height };
  } finally {
    clearTimeout(timer);
  }
}
