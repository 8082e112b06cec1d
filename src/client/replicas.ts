/**
 * Reads go to the storage the tracker picks (102). A replica that has not synced a new file yet
 * answers ENOENT, and one may be down: then every other server from 105 is tried before giving up,
 * so a just-uploaded file is not a 404 because of the replica that was asked first.
 */
import { FdfsError, type Logger, Status } from '../common/index.js';
import type { HostPort } from '../config/types.js';
import type { FetchTarget } from '../protocol/index.js';
import { isStatusReply } from './connection.js';
import type { TrackerClient } from './tracker-client.js';

/** ENOENT, or no answer at all (connect failure, reset before the reply): ask another replica. */
export function worthAnotherReplica(err: unknown): boolean {
  if (!isStatusReply(err)) return true;
  return err instanceof FdfsError && err.status === Status.ENOENT;
}

function hostPort(t: FetchTarget): HostPort {
  return { host: t.ip, port: t.port };
}

export async function readFromReplicas<T>(
  tracker: TrackerClient,
  log: Logger,
  fileId: string,
  attempt: (target: HostPort) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const first = await tracker.queryFetch(fileId, signal);
  // An aborted call failed because of the abort, not the replica: nobody else is asked.
  const another = (err: unknown) => !signal?.aborted && worthAnotherReplica(err);
  try {
    return await attempt(hostPort(first));
  } catch (err) {
    if (!another(err)) throw err;
    let all: FetchTarget[];
    try {
      all = await tracker.queryFetchAll(fileId, signal);
    } catch (listErr) {
      log.debug('query fetch all failed; reporting the first error', { fileId, err: listErr });
      throw err;
    }
    const tried = new Set([`${first.ip}:${first.port}`]);
    for (const t of all) {
      const key = `${t.ip}:${t.port}`;
      if (tried.has(key)) continue;
      tried.add(key);
      log.debug('trying another replica', { fileId, storage: key, after: (err as Error).message });
      try {
        return await attempt(hostPort(t));
      } catch (next) {
        if (!another(next)) throw next;
      }
    }
    throw err;
  }
}
