/** Real images for the image-variant tests, made with sharp; and a pixel bomb made by hand. */
import { readFile, writeFile } from 'node:fs/promises';
import { crc32, createDeflate } from 'node:zlib';
import sharp from 'sharp';

/** A noisy picture (so encoders have real work), `channels` 4 gives it an alpha channel. */
export async function picture(
  width: number,
  height: number,
  format: 'jpeg' | 'png' | 'webp',
  channels: 3 | 4 = 3,
): Promise<Buffer> {
  const img = sharp({
    create: {
      width,
      height,
      channels,
      background: { r: 40, g: 120, b: 200, alpha: channels === 4 ? 0.5 : 1 },
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  });
  return img.toFormat(format).toBuffer();
}

export async function decoded(
  body: Buffer,
): Promise<{ format: string; width: number; height: number; channels: number }> {
  const m = await sharp(body).metadata();
  return { format: m.format ?? '', width: m.width ?? 0, height: m.height ?? 0, channels: m.channels ?? 0 };
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A genuine `side`×`side` 1-bit grey PNG (every row decodes): 900 megapixels at 30,000 in about
 * 110 KB. Its rows are deflated as a stream, so making it never holds the raw image.
 */
export async function pngBomb(side: number): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale, deflate, adaptive filter, no interlace
  const deflate = createDeflate({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const row = Buffer.alloc(1 + Math.ceil(side / 8));
  for (let y = 0; y < side; y++) {
    if (!deflate.write(row)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(out)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Peak resident memory of this process since the last reset (Linux /proc), in bytes. */
export async function peakRss(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

/** Resets the peak to the current resident size (writing 5 to clear_refs, Linux ≥ 4.0). */
export async function resetPeakRss(): Promise<void> {
  await writeFile('/proc/self/clear_refs', '5');
}
