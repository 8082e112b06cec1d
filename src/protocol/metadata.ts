import { FIELD_SEPARATOR, MAX_META_NAME_LEN, MAX_META_VALUE_LEN, RECORD_SEPARATOR } from './constants.js';

export type Metadata = Record<string, string>;

/** Byte-wise truncation as FastDFS does when it parses (names 64, values 256 bytes). */
function cut(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  return b.length <= max ? s : b.subarray(0, max).toString('utf8');
}

/** `name 0x02 value` entries joined by 0x01, sorted by name as the storage keeps them. */
export function packMetadata(meta: Metadata): Buffer {
  const parts: Buffer[] = [];
  const names = Object.keys(meta).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const [i, name] of names.entries()) {
    if (i > 0) parts.push(Buffer.from([RECORD_SEPARATOR]));
    parts.push(
      Buffer.from(name, 'utf8'),
      Buffer.from([FIELD_SEPARATOR]),
      Buffer.from(meta[name] ?? '', 'utf8'),
    );
  }
  return Buffer.concat(parts);
}

export function unpackMetadata(buf: Buffer, opts: { truncate?: boolean } = {}): Metadata {
  const meta: Metadata = Object.create(null);
  if (buf.length === 0) return meta;
  let start = 0;
  while (start <= buf.length) {
    let end = buf.indexOf(RECORD_SEPARATOR, start);
    if (end < 0) end = buf.length;
    const rec = buf.subarray(start, end);
    const sep = rec.indexOf(FIELD_SEPARATOR);
    const rawName = (sep < 0 ? rec : rec.subarray(0, sep)).toString('utf8');
    const rawValue = sep < 0 ? '' : rec.subarray(sep + 1).toString('utf8');
    if (rawName.length > 0) {
      const name = opts.truncate ? cut(rawName, MAX_META_NAME_LEN) : rawName;
      meta[name] = opts.truncate ? cut(rawValue, MAX_META_VALUE_LEN) : rawValue;
    }
    start = end + 1;
  }
  return meta;
}

export function mergeMetadata(base: Metadata, update: Metadata): Metadata {
  return Object.assign(Object.create(null), base, update);
}
