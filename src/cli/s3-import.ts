/**
 * `fdfs s3 import <bucket>`: the files of a FastDFS group as keys, read from a storage's binlog
 * (ours or stock FastDFS', same format) with a checkpoint file in the data folder, so a second run
 * continues where the first stopped and, once done, reads only what the binlog gained since.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { FdfsClient } from '../client/index.js';
import { FdfsError, Status, writeFileAtomic } from '../common/index.js';
import { type ClientConfig, readConfFile } from '../config/index.js';
import type { Namespace } from '../namespace/index.js';
import {
  type ImportLine,
  type ImportPosition,
  type ImportProgress,
  type ImportReport,
  importGroup,
} from '../s3/index.js';
import { BinlogReader } from '../storage/index.js';
import { humanBytes } from './output.js';
import type { ProgressTarget } from './progress.js';

export interface ImportCommand {
  readonly client: ClientConfig;
  readonly bucket: string;
  readonly group: string;
  readonly prefix: string;
  readonly binlogDir: string;
  /** Where checkpoints are kept (`<data>/s3-import`). */
  readonly stateDir: string;
  readonly restart: boolean;
  readonly parallel: number;
  readonly stdout: ProgressTarget;
  readonly stderr: ProgressTarget;
}

/** The binlog folder of a storage.conf (`<base_path>/data/sync`) and its group_name. */
export async function storageOf(storageConf: string): Promise<{ binlogDir: string; group?: string }> {
  const conf = await readConfFile(storageConf);
  const base = conf.get('base_path')?.at(-1)?.value;
  if (!base) throw new FdfsError(Status.EINVAL, `${storageConf}: no base_path`);
  const group = conf.get('group_name')?.at(-1)?.value;
  return { binlogDir: resolve(base, 'data/sync'), ...(group ? { group } : {}) };
}

interface Checkpoint {
  readonly bucket: string;
  readonly group: string;
  readonly prefix: string;
  readonly binlog: string;
  /** The binlog's first line: another storage's binlog (or a new one) does not match. */
  readonly first: string;
  readonly at: ImportPosition;
}

async function firstLine(dir: string): Promise<string> {
  const rl = createInterface({ input: createReadStream(join(dir, 'binlog.000')), crlfDelay: Infinity });
  try {
    for await (const line of rl) return line;
    return '';
  } catch {
    return '';
  } finally {
    rl.close();
  }
}

async function lastIndex(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new FdfsError(Status.ENOENT, `no storage binlog in ${dir} (see --binlog, --storage-conf)`, {
      cause: err,
    });
  }
  const indexes = names.flatMap((n) => /^binlog\.(\d{3})$/.exec(n)?.[1] ?? []).map(Number);
  if (indexes.length === 0) throw new FdfsError(Status.ENOENT, `no binlog.NNN file in ${dir}`);
  return Math.max(...indexes);
}

async function* linesFrom(dir: string, last: number, from: ImportPosition): AsyncGenerator<ImportLine> {
  const reader = new BinlogReader({ dir, currentIndex: () => last, onBadLine: () => {} }, from);
  try {
    for (;;) {
      const batch = await reader.read(1024);
      if (batch.length === 0) return;
      yield* batch;
    }
  } finally {
    await reader.close();
  }
}

function summaryLine(r: ImportReport): string {
  const c = r.counts;
  return (
    `s3 import: ${r.records} binlog record(s) read, ${c.imported} key(s) imported (${humanBytes(r.bytes)} read), ` +
    `${c.already} already there, ${c.updated} updated, ${c.removed} removed (deleted in FastDFS), ` +
    `${c.taken} left to the S3 object under the same key, ${c.owned} skipped (S3's own or borrowed already), ` +
    `${c.missing} missing, ${c.deferred} deferred, ${c.failed} failed; ` +
    `checkpoint binlog.${String(r.checkpoint.index).padStart(3, '0')}:${r.checkpoint.offset}`
  );
}

function progressLine(p: ImportProgress, started: number, width: number): string {
  const pct = p.total > 0 ? Math.floor((p.records * 100) / p.total) : 100;
  const secs = Math.max(0.001, (Date.now() - started) / 1000);
  const line =
    `s3 import: ${pct}% ${p.records}/${p.total} records, ${p.counts.imported} imported, ` +
    `${p.counts.already} already, ${humanBytes(p.bytes)} read (${humanBytes(Math.round(p.bytes / secs))}/s)`;
  return `\r${line.slice(0, width).padEnd(width)}`;
}

export async function runImport(ns: Namespace, o: ImportCommand): Promise<void> {
  if (!(await ns.getBucket(o.bucket))) {
    throw new FdfsError(
      Status.ENOENT,
      `no bucket ${o.bucket}: create it first (e.g. aws s3 mb s3://${o.bucket})`,
    );
  }
  const last = await lastIndex(o.binlogDir);
  const first = await firstLine(o.binlogDir);
  await mkdir(o.stateDir, { recursive: true });
  const id = createHash('sha256').update([o.bucket, o.group, o.prefix, o.binlogDir].join('\0')).digest('hex');
  const path = join(o.stateDir, `${o.bucket}.${o.group}.${id.slice(0, 12)}.json`);
  let from: ImportPosition = { index: 0, offset: 0 };
  if (!o.restart) {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      let cp: Checkpoint;
      try {
        cp = JSON.parse(text) as Checkpoint;
      } catch (err) {
        throw new FdfsError(Status.EINVAL, `${path} is not a checkpoint: --restart starts over`, {
          cause: err,
        });
      }
      if (cp.first !== first) {
        throw new FdfsError(
          Status.EINVAL,
          `${path} was made from another binlog (its first line differs): --restart starts over (keys already imported stay)`,
        );
      }
      from = cp.at;
    }
  }
  const save = (at: ImportPosition) => {
    const cp: Checkpoint = {
      bucket: o.bucket,
      group: o.group,
      prefix: o.prefix,
      binlog: o.binlogDir,
      first,
      at,
    };
    return writeFileAtomic(path, `${JSON.stringify(cp, null, 2)}\n`);
  };
  const started = Date.now();
  const width = Math.max(20, (o.stderr.columns || 80) - 1);
  let drawn = 0;
  const fdfs = new FdfsClient(o.client);
  let report: ImportReport;
  try {
    report = await importGroup({
      ns,
      bucket: o.bucket,
      group: o.group,
      prefix: o.prefix,
      records: (at) => linesFrom(o.binlogDir, last, at),
      from,
      files: fdfs,
      save,
      parallel: o.parallel,
      // A terminal gets a line redrawn in place at most ten times a second; pipes get none.
      ...(o.stderr.isTTY === true && {
        onProgress: (p: ImportProgress) => {
          if (Date.now() - drawn < 100 && p.records < p.total) return;
          drawn = Date.now();
          o.stderr.write(progressLine(p, started, width));
        },
      }),
    });
  } finally {
    if (drawn > 0) o.stderr.write('\n');
    await fdfs.close();
  }
  o.stdout.write(`${summaryLine(report)}\n`);
  for (const f of report.failures) o.stderr.write(`failed: ${f}\n`);
  for (const f of report.metaDropped) {
    o.stderr.write(`metadata not kept in full (names that are no header token, or past 2 KB): ${f}\n`);
  }
  if (report.counts.failed > 0) {
    throw new FdfsError(
      Status.EIO,
      `${report.counts.failed} file(s) could not be imported; run again to retry`,
    );
  }
  if (report.counts.deferred > 0) {
    throw new FdfsError(
      Status.EAGAIN,
      `${report.counts.deferred} file(s) deferred while S3 uploads of the same size and CRC-32 are open; run again later`,
    );
  }
}
