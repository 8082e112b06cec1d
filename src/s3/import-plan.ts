/**
 * The pure half of `fdfs s3 import`: what each binlog record means for the set of live files,
 * the first pass's summary of a binlog range, the checkpoint window, and FastDFS metadata as S3
 * user metadata. The storage's binlog is the group's file list: FastDFS has no list command, and
 * every create, delete, append and metadata change of the group is a line in it (§7.3).
 */

/** One binlog line: `ts op name[ extra...]` (FastDFS' own format; ours is the same). */
export interface ImportBinlogRecord {
  /** Unix seconds. */
  readonly ts: number;
  /** Upper case: done on this storage; lower case: replicated from a peer of the group. */
  readonly op: string;
  readonly name: string;
  readonly extra: readonly string[];
}

/** A binlog position: file binlog.NNN and a byte offset in it. */
export interface ImportPosition {
  readonly index: number;
  readonly offset: number;
}

export interface ImportLine {
  readonly record: ImportBinlogRecord;
  /** Where the line after this one starts. */
  readonly next: ImportPosition;
}

export function comparePositions(a: ImportPosition, b: ImportPosition): number {
  return a.index - b.index || a.offset - b.offset;
}

/**
 * What a record does to one file: `create` (upload, slave, link, the new name of a regenerated
 * appender), `change` (append, modify, truncate, whole-file update, or its metadata sidecar
 * created, replaced or removed), `delete` (the file itself, or the old name of a renamed appender).
 */
export interface FileAction {
  readonly kind: 'create' | 'change' | 'delete';
  readonly name: string;
}

const SIDECAR = '-m';

export function actionsOf(r: ImportBinlogRecord, prefix: string): FileAction[] {
  const op = r.op.toUpperCase();
  const out: FileAction[] = [];
  const add = (kind: FileAction['kind'], name: string) => {
    if (name.endsWith(SIDECAR)) out.push({ kind: 'change', name: name.slice(0, -SIDECAR.length) });
    else out.push({ kind, name });
  };
  if (op === 'C' || op === 'L') add('create', r.name);
  else if (op === 'D') add('delete', r.name);
  else if (op === 'A' || op === 'M' || op === 'T' || op === 'U') add('change', r.name);
  else if (op === 'R') {
    // `R new old`: the appender's old name is gone, its bytes live on under the new one.
    if (r.extra[0] !== undefined) add('delete', r.extra[0]);
    add('create', r.name);
  }
  return out.filter((a) => a.name.startsWith(prefix));
}

/**
 * The first pass over a range: the files deleted in it, and for each file changed in it the
 * ordinal of its last change. The second pass registers a file once, at the last record that
 * touches its bytes or metadata, so an appender written in many steps is read once. Both sets
 * grow with the deleted and changed files only, not with the store.
 */
export class RangeSummary {
  readonly deleted = new Set<string>();
  readonly lastChange = new Map<string, number>();
  records = 0;
  end: ImportPosition;

  constructor(from: ImportPosition) {
    this.end = from;
  }

  add(line: ImportLine, prefix: string): void {
    const seq = this.records++;
    this.end = line.next;
    for (const a of actionsOf(line.record, prefix)) {
      if (a.kind === 'delete') this.deleted.add(a.name);
      else if (a.kind === 'change') this.lastChange.set(a.name, seq);
    }
  }

  /** Whether the action at ordinal `seq` is the one that registers (or refreshes) its file. */
  registersAt(a: FileAction, seq: number): boolean {
    if (a.kind === 'delete' || this.deleted.has(a.name)) return false;
    const last = this.lastChange.get(a.name);
    return a.kind === 'create' ? last === undefined : last === seq;
  }
}

/**
 * The checkpoint: the position before which every record is done. Records finish out of order
 * (several files are read at once); the window advances over the finished prefix and stops for
 * good at the first record that failed or was deferred, so a later run starts again from there.
 */
export class CheckpointWindow {
  private readonly nexts = new Map<number, ImportPosition | 'held'>();
  private doneUpTo = -1;
  private stuck = false;

  constructor(private at: ImportPosition) {}

  get position(): ImportPosition {
    return this.at;
  }

  finish(seq: number, next: ImportPosition, ok: boolean): void {
    if (this.stuck) return;
    this.nexts.set(seq, ok ? next : 'held');
    for (let n = this.nexts.get(this.doneUpTo + 1); n !== undefined; n = this.nexts.get(this.doneUpTo + 1)) {
      if (n === 'held') {
        this.stuck = true;
        this.nexts.clear();
        return;
      }
      this.nexts.delete(this.doneUpTo + 1);
      this.doneUpTo++;
      this.at = n;
    }
  }
}

/** A header token, as x-amz-meta-<name> must be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** What S3 keeps per object: names and values together. */
export const MAX_META_BYTES = 2048;

export interface ConvertedMeta {
  readonly meta: Record<string, string>;
  /** Names that could not be kept: not a header token, a duplicate once lower-cased, or past 2 KB. */
  readonly dropped: readonly string[];
}

/**
 * FastDFS metadata as x-amz-meta-*: names lower-cased, values that are not printable US-ASCII
 * encoded as RFC 2047 (`=?UTF-8?B?…?=`), which is how S3 itself answers such values.
 */
export function s3MetaOf(fdfs: Readonly<Record<string, string>>): ConvertedMeta {
  const meta: Record<string, string> = {};
  const dropped: string[] = [];
  let bytes = 0;
  for (const name of Object.keys(fdfs).sort()) {
    const raw = fdfs[name] ?? '';
    const lower = name.toLowerCase();
    const value = /^[\x20-\x7e]*$/.test(raw) ? raw : `=?UTF-8?B?${Buffer.from(raw).toString('base64')}?=`;
    const cost = Buffer.byteLength(lower) + Buffer.byteLength(value);
    if (!TOKEN.test(lower) || lower in meta || bytes + cost > MAX_META_BYTES) {
      dropped.push(name);
      continue;
    }
    bytes += cost;
    meta[lower] = value;
  }
  return { meta, dropped };
}
