/**
 * Range requests (RFC 9110 §14). FastDFS' quirk that `bytes=0-0` means the whole file is not
 * copied: here it is the first byte, as every other server answers. A malformed `bytes=` header
 * is a 416 rather than silently ignored, so a client with a bug finds out (§14.2 allows either);
 * a unit other than bytes is ignored, as §14.2 requires. Positions of any length are valid: one
 * past the end is clamped to it, whatever its number of digits.
 */
export interface ByteRange {
  readonly start: number;
  readonly end: number; // inclusive
}

export type RangeResult =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly ranges: readonly ByteRange[] }
  | { readonly kind: 'unsatisfiable'; readonly why: string };

/** As FastDFS' FDFS_MAX_HTTP_RANGES: more ranges than this in one request is a 416. */
export const MAX_RANGES = 5;

const SPEC = /^(\d+)?-(\d+)?$/;
/** A token (RFC 9110 §5.6.2): anything else before '=' makes the header malformed. */
const UNIT = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

/**
 * A position as a number; Infinity when it has more digits than any file size can (a size is
 * below 2^53, 16 digits), so a 30-digit end is past every end instead of an overflowed Number.
 */
function position(digits: string): number {
  const s = trimZeros(digits);
  return s.length > 15 ? Number.POSITIVE_INFINITY : Number(s);
}

function trimZeros(digits: string): string {
  return digits.replace(/^0+(?=\d)/, '');
}

/** a < b for digit strings of any length: the shorter is smaller, else the text order decides. */
function below(a: string, b: string): boolean {
  const x = trimZeros(a);
  const y = trimZeros(b);
  return x.length !== y.length ? x.length < y.length : x < y;
}

export function parseRange(header: string | undefined, size: number, multi: boolean): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const eq = header.indexOf('=');
  const unit = eq < 0 ? '' : header.slice(0, eq).trim().toLowerCase();
  if (!UNIT.test(unit)) return { kind: 'unsatisfiable', why: 'a Range is "bytes=first-last"' };
  if (unit !== 'bytes') return { kind: 'full' };
  const specs = header.slice(eq + 1).split(',');
  if (specs.length > MAX_RANGES) return { kind: 'unsatisfiable', why: `more than ${MAX_RANGES} ranges` };
  if (specs.length > 1 && !multi) return { kind: 'unsatisfiable', why: 'several ranges are turned off' };
  const ranges: ByteRange[] = [];
  for (const raw of specs) {
    const m = SPEC.exec(raw.trim());
    if (m === null || (m[1] === undefined && m[2] === undefined)) {
      return { kind: 'unsatisfiable', why: `malformed range ${JSON.stringify(raw.trim().slice(0, 40))}` };
    }
    let start: number;
    let end: number;
    if (m[1] === undefined) {
      const suffix = position(m[2] as string);
      if (suffix === 0) continue; // "-0" selects nothing
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = position(m[1]);
      end = m[2] === undefined ? size - 1 : Math.min(position(m[2]), size - 1);
      if (m[2] !== undefined && below(m[2], m[1])) {
        return { kind: 'unsatisfiable', why: `range ${raw.trim()} ends before it starts` };
      }
    }
    if (start >= size) continue; // not satisfiable on its own; others may be
    ranges.push({ start, end });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable', why: `no range overlaps the ${size} bytes` };
  return { kind: 'partial', ranges };
}

export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}

/** The part headers and closing line of a multipart/byteranges body; lengths known up front. */
export function byteRangesFrame(
  ranges: readonly ByteRange[],
  size: number,
  contentType: string,
  boundary: string,
): { heads: Buffer[]; tail: Buffer; length: number } {
  const heads = ranges.map((r, i) =>
    Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${contentType}\r\n` +
        `Content-Range: ${contentRange(r, size)}\r\n\r\n`,
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let length = tail.length;
  for (const [i, r] of ranges.entries()) length += (heads[i]?.length ?? 0) + r.end - r.start + 1;
  return { heads, tail, length };
}
