/** http.image.* keys of http.conf: the image variants the gateway renders and its limits. */
import type { ConfEntry } from './conf-file.js';
import { badValue, type ConfReader } from './reader.js';
import type { ImageConfig, ImagePreset } from './types.js';

/** Slave prefixes carry a side in at most 4 digits (`_9999x9999i_q100` is 16 characters). */
export const IMAGE_MAX_SIDE = 9999;

function presetsOf(r: ConfReader, maxSide: number): ImagePreset[] {
  const out: ImagePreset[] = [];
  const seen = new Set<string>();
  for (const entry of r.all('http.image.presets') as readonly ConfEntry[]) {
    for (const word of entry.value.split(/[\s,]+/).filter(Boolean)) {
      const m = /^(\d{1,4})x(\d{1,4})$/.exec(word);
      const width = Number(m?.[1]);
      const height = Number(m?.[2]);
      if (!m || width > maxSide || height > maxSide || width + height === 0) {
        throw badValue(
          entry,
          'http.image.presets',
          `sizes as WIDTHxHEIGHT (0 = follow the other side, not both) up to http.image.max_dimension = ${maxSide}, e.g. 200x200, 800x0 (${word} is not one)`,
        );
      }
      const key = `${width}x${height}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(Object.freeze({ width, height }));
    }
  }
  return out;
}

export function imageOf(r: ConfReader): ImageConfig {
  const maxDimension = r.int('http.image.max_dimension', 4096, 1, IMAGE_MAX_SIDE);
  return Object.freeze({
    presets: Object.freeze(presetsOf(r, maxDimension)),
    quality: r.int('http.image.quality', 80, 1, 100),
    maxDimension,
    maxPixels: r.int('http.image.max_pixels', 50_000_000, 1, 1_000_000_000),
    maxInputSize: r.size('http.image.max_input_size', 32 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    maxRenders: r.int('http.image.max_renders', 2, 1, 256),
    maxQueue: r.int('http.image.max_queue', 32, 0, 100_000),
    renderTimeout: r.duration('http.image.render_timeout', 10_000, 's', 100),
  });
}
