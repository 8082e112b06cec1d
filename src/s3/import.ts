/**
 * `fdfs s3 import`: registers the live files of a FastDFS group as keys of a bucket without
 * copying bytes. Two passes over the storage's binlog from the checkpoint to its end as it is at
 * the start: the first finds the files deleted or changed in that range (see RangeSummary), the
 * second registers each live file once and unregisters imported files deleted natively. Each file
 * is read once through the storage to get its MD5 (the ETag S3 tools compare) and CRC-32 (checked
 * against its name), its metadata fetched with GET_METADATA. Keys take the file's path; the file
 * is borrowed (ObjectPart.borrowed): an S3 delete removes the key and never the native file.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { lookup } from 'mime-types';
import { Crc32, FdfsError, isFdfsError, type Logger, Status, silentLogger } from '../common/index.js';
import { decodeRemoteFilename } from '../fileid/index.js';
import type { Namespace, ObjectRecord, UploadIntent } from '../namespace/index.js';
import {
  actionsOf,
  CheckpointWindow,
  comparePositions,
  type FileAction,
  type ImportBinlogRecord,
  type ImportLine,
  type ImportPosition,
  RangeSummary,
  s3MetaOf,
} from './import-plan.js';

/** What the import reads through the cluster; FdfsClient has both. */
export interface ImportFiles {
  download(fileId: string): Promise<Readable>;
  getMetadata(fileId: string): Promise<Record<string, string>>;
}

export interface ImportOptions {
  readonly ns: Namespace;
  readonly bucket: string;
  readonly group: string;
  /** Only names starting with this (e.g. `M00/`). */
  readonly prefix: string;
  /** The binlog's records from `from` on, oldest first, as far as it is written when read. */
  readonly records: (from: ImportPosition) => AsyncIterable<ImportLine>;
  /** The checkpoint of an earlier run, or the binlog's start. */
  readonly from: ImportPosition;
  readonly files: ImportFiles;
  /** Stores the checkpoint (durably); called now and then and once at the end. */
  readonly save: (at: ImportPosition) => Promise<void>;
  readonly onProgress?: (p: ImportProgress) => void;
  /** Files read at once. Default 8. */
  readonly parallel?: number;
  /** Records between checkpoint saves (or a second, whichever comes first). Default 256. */
  readonly saveEvery?: number;
  readonly logger?: Logger;
}

export type Outcome =
  /** Registered as a new key. */
  | 'imported'
  /** Its key already names it, unchanged. */
  | 'already'
  /** Its key named it and was refreshed (appended to, metadata changed). */
  | 'updated'
  /** Deleted natively: the key that named it is gone. */
  | 'removed'
  /** The key is taken by other bytes (an S3 upload): left alone. */
  | 'taken'
  /**
   * A file the namespace holds already: an S3 upload's own, or borrowed before (imported under
   * another bucket, where a copy can share it, or imported and deleted through S3 since).
   */
  | 'owned'
  /** Gone from the storage without a delete record (a crash can leave a name with no file). */
  | 'missing'
  /** An S3 upload of the same size and CRC-32 is in flight: decided by a later run. */
  | 'deferred'
  | 'failed';

export interface ImportProgress {
  /** Records of the range handled so far, and in all. */
  readonly records: number;
  readonly total: number;
  readonly bytes: number;
  readonly counts: Readonly<Record<Outcome, number>>;
}

export interface ImportReport extends ImportProgress {
  readonly checkpoint: ImportPosition;
  /** `fileId: why` for each failed file (the first 100). */
  readonly failures: readonly string[];
  /** File ids whose metadata names could not all be kept (the first 100). */
  readonly metaDropped: readonly string[];
}

const OUTCOMES: readonly Outcome[] = [
  'imported',
  'already',
  'updated',
  'removed',
  'taken',
  'owned',
  'missing',
  'deferred',
  'failed',
];
const MAX_LISTED = 100;

export async function importGroup(o: ImportOptions): Promise<ImportReport> {
  const summary = new RangeSummary(o.from);
  for await (const line of o.records(o.from)) summary.add(line, o.prefix);
  // Intents listed after the range is fixed: an S3 upload of a file in it recorded its intent
  // before the storage named the file, and clears it only once a key names the file.
  const intents = await o.ns.listIntents(Number.MAX_SAFE_INTEGER);
  const run = new ImportRun(o, summary, intents);
  return run.go();
}

class ImportRun {
  private readonly counts = Object.fromEntries(OUTCOMES.map((k) => [k, 0])) as Record<Outcome, number>;
  private readonly failures: string[] = [];
  private readonly metaDropped: string[] = [];
  private readonly window: CheckpointWindow;
  private readonly logger: Logger;
  private readonly prints: Set<string>;
  private records = 0;
  private bytes = 0;

  constructor(
    private readonly o: ImportOptions,
    private readonly summary: RangeSummary,
    intents: readonly UploadIntent[],
  ) {
    this.window = new CheckpointWindow(o.from);
    this.logger = o.logger ?? silentLogger;
    this.prints = new Set(
      intents.filter((i) => i.group === '' || i.group === o.group).map((i) => `${i.size}:${i.crc32}`),
    );
  }

  async go(): Promise<ImportReport> {
    const o = this.o;
    const parallel = Math.max(1, o.parallel ?? 8);
    const saveEvery = o.saveEvery ?? 256;
    const running = new Set<Promise<void>>();
    let seq = 0;
    let lastSaved = 0;
    let savedAt = Date.now();
    if (this.summary.records > 0) {
      for await (const line of o.records(o.from)) {
        if (comparePositions(line.next, this.summary.end) > 0) break;
        const mine = seq++;
        const task = this.handle(mine, line).finally(() => running.delete(task));
        running.add(task);
        if (running.size >= parallel) await Promise.race(running);
        if (this.records - lastSaved >= saveEvery || Date.now() - savedAt >= 1000) {
          lastSaved = this.records;
          savedAt = Date.now();
          await o.save(this.window.position);
        }
        if (seq === this.summary.records) break;
      }
      await Promise.all(running);
    }
    await o.save(this.window.position);
    return {
      ...this.progress(),
      checkpoint: this.window.position,
      failures: this.failures,
      metaDropped: this.metaDropped,
    };
  }

  private progress(): ImportProgress {
    return { records: this.records, total: this.summary.records, bytes: this.bytes, counts: this.counts };
  }

  private async handle(seq: number, line: ImportLine): Promise<void> {
    let ok = true;
    for (const a of actionsOf(line.record, this.o.prefix)) {
      const outcome = await this.act(seq, a, line.record);
      if (outcome === undefined) continue;
      this.counts[outcome]++;
      if (outcome === 'failed' || outcome === 'deferred') ok = false;
    }
    this.records++;
    this.window.finish(seq, line.next, ok);
    this.o.onProgress?.(this.progress());
  }

  private async act(seq: number, a: FileAction, record: ImportBinlogRecord): Promise<Outcome | undefined> {
    const { ts } = record;
    const op = record.op.toUpperCase();
    const fileId = `${this.o.group}/${a.name}`;
    try {
      if (a.kind === 'delete') return await this.unregister(a.name, fileId);
      if (!this.summary.registersAt(a, seq)) return undefined;
      const plain = a.kind === 'create' && op === 'C';
      return await this.register(a.name, fileId, ts, a.kind === 'change', plain);
    } catch (err) {
      if (isFdfsError(err, Status.ENOENT)) return 'missing';
      const why = err instanceof Error ? err.message : String(err);
      if (this.failures.length < MAX_LISTED) this.failures.push(`${fileId}: ${why}`);
      this.logger.warn('s3 import: a file could not be registered', { fileId, err });
      return 'failed';
    }
  }

  /** A file deleted natively: its key goes if it still names that file as imported. */
  private async unregister(key: string, fileId: string): Promise<Outcome | undefined> {
    const cur = await this.o.ns.getObject(this.o.bucket, key);
    if (!cur || !namesOnly(cur, fileId) || cur.parts[0]?.borrowed !== true) return undefined;
    await this.o.ns.deleteObject(this.o.bucket, key);
    return 'removed';
  }

  /**
   * `plain`: registered at its upload record, no later record in the range touched it, so it has
   * no metadata sidecar (one would have a record after the upload): GET_METADATA is skipped.
   */
  private async register(
    key: string,
    fileId: string,
    ts: number,
    changed: boolean,
    plain: boolean,
  ): Promise<Outcome> {
    const { ns, bucket } = this.o;
    const cur = await ns.getObject(bucket, key);
    if (cur) {
      if (!namesOnly(cur, fileId)) return 'taken';
      if (!changed) return 'already';
      const rec = await this.read(key, fileId, ts, false);
      if (sameObject(cur, rec)) return 'already';
      const r = await ns.putObject(rec, { ifMatch: cur.etag });
      return r === 'ok' ? 'updated' : this.afterRefusal(key, fileId);
    }
    if (await ns.isReferenced(fileId)) return 'owned';
    if (this.inFlight(key)) return 'deferred';
    const rec = await this.read(key, fileId, ts, plain);
    const r = await ns.putObject(rec, { ifNoneMatch: '*', requireUnknown: [fileId] });
    if (r === 'no-bucket') throw new FdfsError(Status.ENOENT, `bucket ${bucket} is gone`);
    return r === 'ok' ? 'imported' : this.afterRefusal(key, fileId);
  }

  /** A conditional write lost a race: say what is there now. */
  private async afterRefusal(key: string, fileId: string): Promise<Outcome> {
    const cur = await this.o.ns.getObject(this.o.bucket, key);
    if (cur) return namesOnly(cur, fileId) ? 'already' : 'taken';
    return 'owned';
  }

  /** Whether an S3 upload not committed yet may have stored this file (an intent with its print). */
  private inFlight(name: string): boolean {
    if (this.prints.size === 0) return false;
    const d = decodeRemoteFilename(name);
    return d.type !== 'appender' && d.type !== 'slave' && this.prints.has(`${d.size}:${d.crc32}`);
  }

  /** The record of a file: its bytes streamed once for MD5 and CRC-32, its metadata. */
  private async read(key: string, fileId: string, ts: number, plain: boolean): Promise<ObjectRecord> {
    const md5 = createHash('md5');
    const crc = new Crc32();
    let size = 0;
    for await (const chunk of await this.o.files.download(fileId)) {
      const b = chunk as Buffer;
      md5.update(b);
      crc.update(b);
      size += b.length;
      this.bytes += b.length;
    }
    const d = decodeRemoteFilename(key);
    // The name of a normal or trunk file carries its size and CRC-32: the bytes must match them.
    if ((d.type === 'normal' || d.type === 'trunk') && (d.size !== size || d.crc32 !== crc.value)) {
      throw new FdfsError(
        Status.EIO,
        `read ${size} bytes with CRC-32 ${crc.value}, its name says ${d.size} bytes with CRC-32 ${d.crc32}`,
      );
    }
    const { meta, dropped } = s3MetaOf(plain ? {} : await this.o.files.getMetadata(fileId));
    if (dropped.length > 0 && this.metaDropped.length < MAX_LISTED) this.metaDropped.push(fileId);
    const crcBytes = Buffer.alloc(4);
    crcBytes.writeUInt32BE(crc.value);
    const type = lookup(key);
    return {
      bucket: this.o.bucket,
      key,
      parts: [{ fileId, size, borrowed: true }],
      size,
      etag: md5.digest('hex'),
      lastModified: ts * 1000,
      contentType: type === false ? 'binary/octet-stream' : type,
      headers: {},
      meta,
      checksum: { algorithm: 'CRC32', value: crcBytes.toString('base64') },
    };
  }
}

function namesOnly(rec: ObjectRecord, fileId: string): boolean {
  return rec.parts.length === 1 && rec.parts[0]?.fileId === fileId;
}

function sameObject(a: ObjectRecord, b: ObjectRecord): boolean {
  return (
    a.etag === b.etag &&
    a.size === b.size &&
    a.contentType === b.contentType &&
    JSON.stringify(a.meta) === JSON.stringify(b.meta)
  );
}
