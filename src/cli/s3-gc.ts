/**
 * `fdfs s3 gc`: drains the S3 garbage queue, then removes the files of uploads that crashed
 * between the storage's answer and the namespace commit, found through their upload intents in
 * the local storage's binlog (for `fdfs start`, `<base>/storage/data/sync`). Deletes go through
 * the tracker, so replicas and binlogs learn of them as of any delete.
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FdfsClient } from '../client/index.js';
import { FdfsError, Status } from '../common/index.js';
import type { ClientConfig } from '../config/index.js';
import type { Namespace } from '../namespace/index.js';
import { collectOrphans, drainGarbageOnce } from '../s3/index.js';

export interface GcOptions {
  readonly client: ClientConfig;
  /** The storage's binlog folder; none (or missing) = no orphan scan. */
  readonly binlogDir: string;
  readonly group: string;
  readonly graceMs: number;
}

/** Every line of binlog.NNN in `dir`, oldest file first. */
export async function* binlogLines(dir: string): AsyncGenerator<string> {
  const names = (await readdir(dir)).filter((n) => /^binlog\.\d{3}$/.test(n)).sort();
  for (const name of names) {
    const rl = createInterface({
      input: createReadStream(join(dir, name)),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of rl) yield line;
  }
}

export async function runGc(ns: Namespace, o: GcOptions): Promise<void> {
  const fdfs = new FdfsClient(o.client);
  try {
    const remove = (fileId: string) => fdfs.delete(fileId);
    const drained = await drainGarbageOnce(ns, remove);
    process.stdout.write(
      `s3 gc: ${drained.deleted} released file(s) deleted, ${drained.failed} still queued\n`,
    );
    const hasBinlog = await readdir(o.binlogDir).then(
      () => true,
      () => false,
    );
    if (hasBinlog) {
      const r = await collectOrphans({
        ns,
        group: o.group,
        lines: binlogLines(o.binlogDir),
        remove,
        now: Date.now(),
        graceMs: o.graceMs,
      });
      process.stdout.write(
        `s3 gc: ${r.orphans.length} orphan file(s) deleted, ${r.intents} upload intent(s) of ${o.group} resolved, ${r.elsewhere} left for other groups\n`,
      );
      for (const id of r.orphans) process.stdout.write(`orphan deleted: ${id}\n`);
    } else {
      process.stdout.write(
        `s3 gc: no storage binlog in ${o.binlogDir}, orphan scan skipped (see --binlog)\n`,
      );
    }
    if (drained.failed > 0)
      throw new FdfsError(Status.EIO, `${drained.failed} released file(s) could not be deleted`);
  } finally {
    await fdfs.close();
  }
}
