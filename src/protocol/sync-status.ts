/**
 * 121 TRACKER_SYNC_STATUS (fastdfs-ts extension): the tracker's per-source sync matrix of one
 * group. Every storage reports (89) how far it holds each peer's files; FastDFS keeps that matrix
 * (last_sync_timestamps) but puts only a per-storage summary on the wire (the stat record's
 * last_synced_timestamp), so a monitor cannot tell which peer a storage lags behind.
 *
 * Request: group str[16]. Reply: one 40-byte row per ordered pair (dest, source) of the group:
 * dest id str[16], source id str[16], synced-until int64 (unix seconds, 0 = never). A FastDFS
 * tracker answers EINVAL to the unknown command; clients take that as "not available".
 */
import { FdfsError, Status } from '../common/index.js';
import { GROUP_NAME_LEN, STORAGE_ID_SIZE } from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

export interface SyncStatusRow {
  /** The storage that holds the copies. */
  readonly dest: string;
  /** The storage whose files they are (where they were uploaded). */
  readonly source: string;
  /** Unix seconds: dest holds every file source created before this; 0 = never reported. */
  readonly syncedUntil: number;
}

export const SYNC_STATUS_ROW_SIZE = STORAGE_ID_SIZE + STORAGE_ID_SIZE + 8;

export function encodeSyncStatusQuery(group: string): Buffer {
  return new BodyWriter(GROUP_NAME_LEN).fixed(group, GROUP_NAME_LEN).buf;
}

export function decodeSyncStatusQuery(body: Buffer): string {
  if (body.length !== GROUP_NAME_LEN) {
    throw new FdfsError(
      Status.EINVAL,
      `sync status: body of ${body.length} bytes, expected ${GROUP_NAME_LEN}`,
    );
  }
  const group = new BodyReader(body, 'sync status').fixed(GROUP_NAME_LEN);
  if (group === '') throw new FdfsError(Status.EINVAL, 'sync status: empty group name');
  return group;
}

export function encodeSyncStatus(rows: readonly SyncStatusRow[]): Buffer {
  const w = new BodyWriter(rows.length * SYNC_STATUS_ROW_SIZE);
  for (const r of rows)
    w.fixed(r.dest, STORAGE_ID_SIZE).fixed(r.source, STORAGE_ID_SIZE).int64(r.syncedUntil);
  return w.buf;
}

export function decodeSyncStatus(body: Buffer): SyncStatusRow[] {
  if (body.length % SYNC_STATUS_ROW_SIZE !== 0) {
    throw new FdfsError(
      Status.EINVAL,
      `sync status reply of ${body.length} bytes, not a multiple of ${SYNC_STATUS_ROW_SIZE}`,
    );
  }
  const r = new BodyReader(body, 'sync status reply');
  const rows: SyncStatusRow[] = [];
  while (r.remaining > 0) {
    const dest = r.fixed(STORAGE_ID_SIZE);
    const source = r.fixed(STORAGE_ID_SIZE);
    const syncedUntil = r.length('synced-until timestamp');
    // An empty id or a storage paired with itself means the peer is not speaking this command.
    if (dest === '' || source === '' || dest === source) {
      throw new FdfsError(Status.EINVAL, `sync status reply: bad pair "${dest}" ← "${source}"`);
    }
    rows.push({ dest, source, syncedUntil });
  }
  return rows;
}
