/** Records and a reference listing model shared by the namespace conformance suite. */
import type {
  ListPage,
  ListQuery,
  Namespace,
  ObjectRecord,
  UploadRecord,
} from '../../src/namespace/index.js';

export interface NamespaceFactory {
  /** A fresh, empty namespace; `now` and `completedTtlMs` as in LmdbNamespaceOptions. */
  fresh(opts?: { now?: () => number; completedTtlMs?: number }): Promise<Handle>;
}

export interface Handle {
  readonly ns: Namespace;
  /** Closes `ns` and opens the same store again. */
  reopen(): Promise<Namespace>;
}

export const OWNER = 'AKIDOWNER';

let fileSeq = 0;
/** A new, unique FastDFS-looking file id. */
export function fid(): string {
  fileSeq++;
  return `group1/M00/00/${(fileSeq & 0xff).toString(16).toUpperCase().padStart(2, '0')}/f${fileSeq}-${process.pid}.bin`;
}

export function obj(bucket: string, key: string, over: Partial<ObjectRecord> = {}): ObjectRecord {
  const fileId = fid();
  return {
    bucket,
    key,
    parts: [{ fileId, size: 5 }],
    size: 5,
    etag: `e-${fileId}`,
    lastModified: 1_700_000_000_000,
    contentType: 'text/plain',
    headers: {},
    meta: {},
    ...over,
  };
}

export function upload(bucket: string, key: string, uploadId: string): UploadRecord {
  return {
    uploadId,
    bucket,
    key,
    owner: OWNER,
    initiatedAt: 1_700_000_000_000,
    contentType: 'application/octet-stream',
    headers: {},
    meta: {},
  };
}

export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** S3's listing, computed the slow obvious way from all keys: the model the stores must match. */
export function modelList(
  keys: readonly string[],
  q: ListQuery,
): { keys: string[]; prefixes: string[]; all: string[] } {
  const prefix = q.prefix ?? '';
  const seen = new Set<string>();
  const all: string[] = [];
  const out = { keys: [] as string[], prefixes: [] as string[] };
  for (const k of [...keys].sort(byteOrder)) {
    if (!k.startsWith(prefix)) continue;
    const cut = q.delimiter ? k.indexOf(q.delimiter, prefix.length) : -1;
    const entry = cut >= 0 ? k.slice(0, cut + (q.delimiter?.length ?? 0)) : k;
    if (q.after !== undefined && byteOrder(entry, q.after) <= 0) continue;
    if (seen.has(entry)) continue;
    seen.add(entry);
    all.push(entry);
    if (cut >= 0) out.prefixes.push(entry);
    else out.keys.push(k);
  }
  return { ...out, all };
}

/** Every entry of a page in the order the store walked them: objects and prefixes merged by bytes. */
export function entries(page: ListPage): string[] {
  return [...page.objects.map((o) => o.key), ...page.prefixes].sort(byteOrder);
}
