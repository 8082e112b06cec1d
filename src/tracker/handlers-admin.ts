/**
 * Monitor and admin commands: group/storage lists (90/91/92), delete (93), parameters (75), ids
 * (69), and our sync matrix (121).
 */
import {
  Cmd,
  decodeSyncStatusQuery,
  encodeGroupStat,
  encodeStorageIdsReply,
  encodeStorageStat,
  encodeSyncStatus,
  FdfsError,
  GROUP_NAME_LEN,
  STORAGE_ID_SIZE,
  Status,
} from '../protocol/index.js';
import { badLength, type CommandHandler, groupField, textField } from './context.js';
import { groupStat, parameterText, storageStat } from './stats.js';
import { syncMatrix } from './sync-state.js';
import { choosesTrunk, trunkServerOf } from './trunk.js';

const listOneGroup: CommandHandler = async (ctx, _conn, body) => {
  if (body.length !== GROUP_NAME_LEN) throw badLength('list one group', body.length, String(GROUP_NAME_LEN));
  const name = groupField(body);
  const g = ctx.cluster.group(name);
  if (!g) throw new FdfsError(Status.ENOENT, `group ${name} not found`);
  return encodeGroupStat(
    groupStat(g, ctx.config.reservedStorageSpace, ctx.config.trunk.useTrunkFile),
    ctx.config.statLayout,
  );
};

const listAllGroups: CommandHandler = async (ctx, _conn, body) => {
  if (body.length !== 0) throw badLength('list all groups', body.length, '0');
  const records = ctx.cluster
    .sortedGroups()
    .map((g) =>
      encodeGroupStat(
        groupStat(g, ctx.config.reservedStorageSpace, ctx.config.trunk.useTrunkFile),
        ctx.config.statLayout,
      ),
    );
  return Buffer.concat(records);
};

/** Group str[16] + an optional id or ip of up to 15 bytes; a named storage that is absent is ENOENT. */
const listStorages: CommandHandler = async (ctx, _conn, body) => {
  if (body.length < GROUP_NAME_LEN || body.length >= GROUP_NAME_LEN + STORAGE_ID_SIZE) {
    throw badLength(
      'list storages',
      body.length,
      `${GROUP_NAME_LEN}..${GROUP_NAME_LEN + STORAGE_ID_SIZE - 1}`,
    );
  }
  const name = groupField(body);
  const g = ctx.cluster.group(name);
  if (!g) throw new FdfsError(Status.ENOENT, `group ${name} not found`);
  const wanted = body.length > GROUP_NAME_LEN ? textField(body.subarray(GROUP_NAME_LEN)) : undefined;
  const list = g.sorted().filter((s) => wanted === undefined || s.id === wanted);
  if (wanted !== undefined && list.length === 0) {
    throw new FdfsError(Status.ENOENT, `storage ${wanted} not found in group ${name}`);
  }
  const trunkId = trunkServerOf(g, ctx.config.trunk.useTrunkFile, choosesTrunk(ctx))?.id;
  return Buffer.concat(
    list.map((s) =>
      encodeStorageStat(storageStat(s, ctx.config.reservedStorageSpace, trunkId), ctx.config.statLayout),
    ),
  );
};

const deleteStorage: CommandHandler = async (ctx, _conn, body, log) => {
  if (body.length <= GROUP_NAME_LEN || body.length >= GROUP_NAME_LEN + STORAGE_ID_SIZE) {
    throw badLength(
      'delete storage',
      body.length,
      `${GROUP_NAME_LEN + 1}..${GROUP_NAME_LEN + STORAGE_ID_SIZE - 1}`,
    );
  }
  const group = groupField(body);
  const id = textField(body.subarray(GROUP_NAME_LEN));
  ctx.cluster.deleteStorage(group, id);
  log.info('storage deleted', { group, storage: id });
  await ctx.persister.saveNow();
  return undefined;
};

const parameters: CommandHandler = async (ctx, _conn, body) => {
  if (body.length !== 0) throw badLength('parameter request', body.length, '0');
  return Buffer.from(parameterText(ctx.config), 'utf8');
};

/**
 * start_index int32 + allow_empty byte (6.11+); FastDFS clients also send the 4-byte form. With
 * storage ids the reply lists storage_ids.conf from start_index; without, upstream's answer: 8
 * zero bytes (total 0, returned 0) when empty is allowed, else EOPNOTSUPP.
 */
const fetchStorageIds: CommandHandler = async (ctx, _conn, body) => {
  if (body.length !== 4 && body.length !== 5) throw badLength('fetch storage ids', body.length, '4 or 5');
  const start = body.readInt32BE(0);
  const allowEmpty = body.length === 5 && body[4] !== 0;
  const lines = ctx.config.useStorageId ? (ctx.storageIds?.lines() ?? []) : [];
  if (lines.length === 0) {
    if (ctx.config.useStorageId) {
      throw new FdfsError(Status.EINVAL, `invalid start index ${start}: no storage ids loaded`);
    }
    // Observed on 6.16.1: the 4-byte form gets EINVAL, the 5-byte one without allow_empty EOPNOTSUPP.
    if (body.length === 4) throw new FdfsError(Status.EINVAL, 'storage ids are not in use');
    if (!allowEmpty) throw new FdfsError(Status.EOPNOTSUPP, 'storage ids are not in use');
    return Buffer.alloc(8);
  }
  if (start < 0 || start >= lines.length) {
    throw new FdfsError(Status.EINVAL, `invalid start index ${start} of ${lines.length} storage ids`);
  }
  return encodeStorageIdsReply(lines.length, lines.slice(start));
};

/** 121 (fastdfs-ts): group str[16] → 40-byte (dest, source, synced-until) rows; see sync-status.ts. */
const syncStatus: CommandHandler = async (ctx, _conn, body) => {
  const name = decodeSyncStatusQuery(body);
  const g = ctx.cluster.group(name);
  if (!g) throw new FdfsError(Status.ENOENT, `group ${name} not found`);
  return encodeSyncStatus(syncMatrix(g));
};

export const adminHandlers: ReadonlyMap<number, CommandHandler> = new Map([
  [Cmd.SERVER_LIST_ONE_GROUP, listOneGroup],
  [Cmd.SERVER_LIST_ALL_GROUPS, listAllGroups],
  [Cmd.SERVER_LIST_STORAGE, listStorages],
  [Cmd.SERVER_DELETE_STORAGE, deleteStorage],
  [Cmd.STORAGE_PARAMETER_REQ, parameters],
  [Cmd.STORAGE_FETCH_STORAGE_IDS, fetchStorageIds],
  [Cmd.TRACKER_SYNC_STATUS, syncStatus],
]);
