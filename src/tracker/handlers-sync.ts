/**
 * Storage → tracker sync-state commands (fact sheet §7.1): 87 a newcomer asks for its source,
 * 88 it tells other trackers the source it got, 86 a peer asks whom a newcomer copies from,
 * 76 the source reports the newcomer SYNCING / ONLINE. Logic in sync-state.ts.
 */
import {
  Cmd,
  decodeStatusReport,
  decodeSyncSource,
  decodeSyncSrcQuery,
  encodeSyncSource,
  FdfsError,
  Status,
  StorageStatus,
  SYNC_SOURCE_SIZE,
  storageStatusName,
} from '../protocol/index.js';
import { badLength, type CommandHandler, joined } from './context.js';
import { reportStatus, syncDestReq, syncNotify, syncSrcQuery } from './sync-state.js';

/** FastDFS storages may send their group (and more) with 87; only the link's join matters. */
const MAX_DEST_REQ_BODY = 64;

const syncDestRequest: CommandHandler = async (ctx, conn, body, log) => {
  const s = joined(conn, 'sync dest request');
  if (body.length > MAX_DEST_REQ_BODY)
    throw badLength('sync dest request', body.length, `≤ ${MAX_DEST_REQ_BODY}`);
  const { group, node } = ctx.cluster.reporting(s.group, s.id);
  const src = syncDestReq(group, node, Math.floor(ctx.cluster.now() / 1000));
  log.info(src ? 'sync source assigned' : 'no sync source needed', {
    group: s.group,
    storage: s.id,
    source: src?.srcId,
    until: src?.until,
    status: storageStatusName(node.status),
  });
  await ctx.persister.saveNow();
  return encodeSyncSource(src);
};

const syncNotifyHandler: CommandHandler = async (ctx, conn, body, log) => {
  const s = joined(conn, 'sync notify');
  if (body.length !== SYNC_SOURCE_SIZE) throw badLength('sync notify', body.length, String(SYNC_SOURCE_SIZE));
  const src = decodeSyncSource(body);
  const { node } = ctx.cluster.reporting(s.group, s.id);
  if (!src) {
    // A stock storage that had nobody to copy from says so at every connect: it holds all it needs.
    if (node.isCopyingOldData) {
      node.status = StorageStatus.ONLINE;
      log.info('storage needs no sync source', { group: s.group, storage: s.id });
      await ctx.persister.saveNow();
    }
    return undefined;
  }
  if (src.srcId === node.id)
    throw new FdfsError(Status.EINVAL, `sync notify: ${node.id} names itself as source`);
  syncNotify(node, src);
  log.info('sync source notified', { group: s.group, storage: s.id, source: src.srcId, until: src.until });
  await ctx.persister.saveNow();
  return undefined;
};

const syncSrcRequest: CommandHandler = async (ctx, _conn, body) => {
  const q = decodeSyncSrcQuery(body);
  const g = ctx.cluster.group(q.group);
  return encodeSyncSource(g ? syncSrcQuery(g, q.destId) : undefined);
};

/**
 * 76: a source says how far a newcomer's copy is. A stock storage reports on a connection of its
 * own that never joined (upstream asks no join here); such a report is taken only from the
 * address of a storage of that group.
 */
const reportStatusHandler: CommandHandler = async (ctx, conn, body, log) => {
  const r = decodeStatusReport(body);
  const g = ctx.cluster.group(r.group);
  if (!g) throw new FdfsError(Status.ENOENT, `report status: group ${r.group} not found`);
  const s = conn.storage;
  if (s && r.group !== s.group) {
    throw new FdfsError(Status.EINVAL, `report status: ${s.id} of ${s.group} reports on group ${r.group}`);
  }
  if (!s && !g.sorted().some((n) => n.ip === conn.peerIp)) {
    throw new FdfsError(Status.EACCES, `report status from ${conn.peerIp}, not a storage of ${r.group}`);
  }
  const target = g.storages.get(r.id);
  if (!target) throw new FdfsError(Status.ENOENT, `report status: storage ${r.id} not found in ${r.group}`);
  const before = target.status;
  if (reportStatus(target, r.status)) {
    log.info('storage sync status', {
      group: r.group,
      storage: r.id,
      reporter: s?.id ?? conn.peerIp,
      from: storageStatusName(before),
      to: storageStatusName(target.status),
    });
    await ctx.persister.saveNow();
  }
  return undefined;
};

export const syncHandlers: ReadonlyMap<number, CommandHandler> = new Map([
  [Cmd.STORAGE_SYNC_DEST_REQ, syncDestRequest],
  [Cmd.STORAGE_SYNC_NOTIFY, syncNotifyHandler],
  [Cmd.STORAGE_SYNC_SRC_REQ, syncSrcRequest],
  [Cmd.STORAGE_REPORT_STATUS, reportStatusHandler],
]);
