/**
 * Which storage of a group is its trunk server (FastDFS' pTrunkServer): the one that hands out
 * trunk space when use_trunk_file is on. It keeps the role while ACTIVE; otherwise the first
 * ACTIVE storage by id takes it. Storages learn it from the if_trunk_server flag of cmd 92.
 * Only the tracker leader chooses (as FastDFS); the others name the one the leader's ping answer
 * named (cmd 65), none before it came, not their own saved choice. Trackers choosing apart named
 * two trunk servers at once, and both handed out the same space (chaos --trunk, a tracker
 * restarted). With no leader known a tracker chooses.
 */
import { BodyReader, Cmd, FdfsError, Status } from '../protocol/index.js';
import { badLength, type CommandHandler, joined } from './context.js';
import type { StorageGroup } from './group.js';
import type { StorageNode } from './storage-node.js';

export function trunkServerOf(
  g: StorageGroup,
  useTrunkFile: boolean,
  chooses = true,
): StorageNode | undefined {
  if (!useTrunkFile) return undefined;
  if (!chooses) {
    const named = g.trunkFromLeader === undefined ? undefined : g.storages.get(g.trunkFromLeader);
    return named?.isActive ? named : undefined;
  }
  const current = g.trunkServerId === undefined ? undefined : g.storages.get(g.trunkServerId);
  if (current?.isActive) return current;
  const next = g.active()[0];
  g.trunkServerId = next?.id;
  return next;
}

/** Whether this tracker chooses trunk servers: it leads, or no leader is known. */
export function choosesTrunk(ctx: Parameters<CommandHandler>[0]): boolean {
  return ctx.relationship.leaderSelf || ctx.relationship.leader === undefined;
}

/** Only the trunk server reports its trunk facts (upstream answers anyone else EINVAL). */
function trunkServerGroup(
  ctx: Parameters<CommandHandler>[0],
  conn: Parameters<CommandHandler>[1],
  what: string,
): StorageGroup {
  const s = joined(conn, what);
  const g = ctx.cluster.group(s.group);
  if (!g || trunkServerOf(g, ctx.config.trunk.useTrunkFile, choosesTrunk(ctx))?.id !== s.id) {
    throw new FdfsError(Status.EINVAL, `${what} from ${s.id}: not the trunk server of ${s.group}`);
  }
  return g;
}

/** 72: the group's highest trunk file id, so a new trunk server numbers on from it. */
const fetchTrunkFid: CommandHandler = async (ctx, conn, body) => {
  if (body.length !== 0) throw badLength('fetch trunk fid', body.length, '0');
  const s = joined(conn, 'fetch trunk fid');
  const out = Buffer.alloc(4);
  out.writeInt32BE(ctx.cluster.group(s.group)?.currentTrunkFileId ?? 0);
  return out;
};

/** 73: the trunk server's current trunk file id. */
const reportTrunkFid: CommandHandler = async (ctx, conn, body) => {
  if (body.length !== 4) throw badLength('report trunk fid', body.length, '4');
  const fid = body.readInt32BE(0);
  if (fid < 0) throw new FdfsError(Status.EINVAL, `report trunk fid: ${fid}`);
  const g = trunkServerGroup(ctx, conn, 'report trunk fid');
  if (fid > g.currentTrunkFileId) {
    g.currentTrunkFileId = fid;
    ctx.persister.saveSoon();
  }
  return undefined;
};

/** 74: the trunk server's free trunk space in MB (group stats show it). */
const reportTrunkFree: CommandHandler = async (ctx, conn, body) => {
  if (body.length !== 8) throw badLength('report trunk free', body.length, '8');
  const mb = new BodyReader(body, 'report trunk free').length('trunk free space');
  trunkServerGroup(ctx, conn, 'report trunk free').trunkFreeMb = mb;
  return undefined;
};

export const trunkHandlers: ReadonlyMap<number, CommandHandler> = new Map([
  [Cmd.STORAGE_FETCH_TRUNK_FID, fetchTrunkFid],
  [Cmd.STORAGE_REPORT_TRUNK_FID, reportTrunkFid],
  [Cmd.STORAGE_REPORT_TRUNK_FREE, reportTrunkFree],
]);
