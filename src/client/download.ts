/**
 * Downloads as streams: the body is read off the storage connection as the consumer pulls, and
 * the call's signal stays armed until the body ends, so a timeout or an abort also ends a
 * download someone is still reading.
 */
import { finished, Readable } from 'node:stream';
import { FdfsError, type Logger, Status } from '../common/index.js';
import { parseFileId } from '../fileid/index.js';
import { abortError, type CallScope } from './call.js';
import type { Connection } from './connection.js';
import type { RangeOptions } from './options.js';
import type { ConnectionPool } from './pool.js';
import { readFromReplicas } from './replicas.js';
import { StorageClient } from './storage-client.js';
import type { TrackerClient } from './tracker-client.js';

export function checkSize(n: number, what: string, fileId: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new FdfsError(Status.EINVAL, `${fileId}: ${what} must be a non-negative integer, got ${n}`, {
      fileId,
    });
  }
}

function rangeOf(opts: RangeOptions, fileId: string): { offset: number; length: number } {
  const offset = opts.offset ?? 0;
  const length = opts.length ?? 0;
  checkSize(offset, 'offset', fileId);
  checkSize(length, 'length', fileId);
  return { offset, length };
}

interface Parts {
  readonly pool: ConnectionPool;
  readonly tracker: TrackerClient;
  readonly log: Logger;
}

/** Asks a replica for the file and leaves its connection checked out until the body ends. */
async function openDownload(
  { pool, tracker, log }: Parts,
  fileId: string,
  opts: RangeOptions,
  signal: AbortSignal | undefined,
): Promise<{ conn: Connection | undefined; body: Readable }> {
  const { group, remoteFilename: remote } = parseFileId(fileId);
  const range = rangeOf(opts, fileId);
  const { conn, value: length } = await readFromReplicas(
    tracker,
    log,
    fileId,
    (t) =>
      pool.checkout(
        t,
        (c) => new StorageClient(c).startDownload(group, remote, range),
        signal ? { retryStale: true, signal } : { retryStale: true },
      ),
    signal,
  );
  if (length === 0) {
    pool.release(conn);
    return { conn: undefined, body: Readable.from([]) };
  }
  const body = new StorageClient(conn).downloadBody(group, remote, length);
  finished(body, () => pool.release(conn));
  return { conn, body };
}

/** The body of `fileId` (or a range); `scope` ends when the body does. */
export async function download(
  parts: Parts,
  fileId: string,
  opts: RangeOptions,
  scope: CallScope,
): Promise<Readable> {
  const action = `download ${fileId}`;
  let opened: { conn: Connection | undefined; body: Readable };
  try {
    opened = await openDownload(parts, fileId, opts, scope.signal);
  } catch (err) {
    scope.end();
    throw scope.failure(err, action, fileId);
  }
  const { conn, body } = opened;
  const { signal } = scope;
  if (!signal) return body;
  const onAbort = () => {
    // The socket first: a body waiting on it ends only once that read fails.
    conn?.destroy();
    body.destroy(abortError(signal, action, fileId));
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  finished(body, () => {
    signal.removeEventListener('abort', onAbort);
    scope.end();
  });
  return body;
}
