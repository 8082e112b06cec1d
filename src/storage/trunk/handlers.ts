/**
 * The trunk commands a storage answers (storage_service.c): the trunk server's alloc (27),
 * confirm (28) and free (29) for the storages of its group, and the binlog size (31) a tracker
 * asks when it picks a trunk server. A storage that is not the trunk server answers 27–29 with
 * EINVAL, as FastDFS does.
 */
import { FdfsError, Status } from '../../common/index.js';
import {
  Cmd,
  decodeTrunkAlloc,
  decodeTrunkConfirm,
  encodeTrunkSlot,
  type Header,
  type PacketContext,
  TRUNK_ALLOC_REQ_SIZE,
  TRUNK_CONFIRM_REQ_SIZE,
} from '../../protocol/index.js';
import type { TrunkServer } from './server.js';
import type { Trunks } from './store.js';

const COMMANDS: ReadonlySet<number> = new Set([
  Cmd.TRUNK_ALLOC_SPACE,
  Cmd.TRUNK_ALLOC_CONFIRM,
  Cmd.TRUNK_FREE_SPACE,
  Cmd.TRUNK_SYNC_BINLOG,
  Cmd.TRUNK_GET_BINLOG_SIZE,
  Cmd.TRUNK_DELETE_BINLOG_MARKS,
  Cmd.TRUNK_TRUNCATE_BINLOG_FILE,
]);

/** A trunk binlog push carries at most this much (FastDFS sends 64 KB pieces). */
const MAX_BINLOG_PUSH = 1024 * 1024;

export function handlesTrunk(cmd: number): boolean {
  return COMMANDS.has(cmd);
}

export async function handleTrunk(
  trunks: Trunks,
  group: string,
  h: Header,
  ctx: PacketContext,
): Promise<void> {
  const serverOf = (what: string): TrunkServer => {
    const s = trunks.serverRole;
    if (!s)
      throw new FdfsError(Status.EINVAL, `${what} from ${ctx.peer}: this storage is not the trunk server`);
    return s;
  };
  const checkGroup = (g: string, what: string) => {
    if (g !== group) throw new FdfsError(Status.EINVAL, `${what}: group "${g}" is not this storage's group`);
  };
  switch (h.cmd) {
    case Cmd.TRUNK_ALLOC_SPACE: {
      const q = decodeTrunkAlloc(await ctx.reader.readBody(h.length, TRUNK_ALLOC_REQ_SIZE));
      checkGroup(q.group, 'trunk alloc');
      const slot = await serverOf('trunk alloc').alloc(q.size, q.storePathIndex);
      return ctx.reply(encodeTrunkSlot(slot));
    }
    case Cmd.TRUNK_ALLOC_CONFIRM:
    case Cmd.TRUNK_FREE_SPACE: {
      const what = h.cmd === Cmd.TRUNK_FREE_SPACE ? 'trunk free' : 'trunk confirm';
      const q = decodeTrunkConfirm(await ctx.reader.readBody(h.length, TRUNK_CONFIRM_REQ_SIZE));
      checkGroup(q.group, what);
      const server = serverOf(what);
      if (h.cmd === Cmd.TRUNK_FREE_SPACE) await server.free(q.slot);
      else await trunks.confirm(q.slot, h.status); // this storage's role: serverOf said so
      return ctx.reply();
    }
    case Cmd.TRUNK_SYNC_BINLOG:
      await trunks.takeBinlog(await ctx.reader.readBody(h.length, MAX_BINLOG_PUSH));
      return ctx.reply();
    case Cmd.TRUNK_TRUNCATE_BINLOG_FILE:
      if (h.length !== 0)
        throw new FdfsError(Status.EINVAL, `trunk binlog truncate: body of ${h.length} bytes`);
      await trunks.truncateBinlog();
      return ctx.reply();
    case Cmd.TRUNK_DELETE_BINLOG_MARKS:
      if (h.length !== 0) throw new FdfsError(Status.EINVAL, `trunk binlog marks: body of ${h.length} bytes`);
      await trunks.forgetMarks();
      return ctx.reply();
    case Cmd.TRUNK_GET_BINLOG_SIZE: {
      if (h.length !== 0) throw new FdfsError(Status.EINVAL, `trunk binlog size: body of ${h.length} bytes`);
      const size = Buffer.alloc(8);
      size.writeBigInt64BE(BigInt(await trunks.binlogSize()));
      return ctx.reply(size);
    }
    default:
      throw new FdfsError(Status.EINVAL, `unknown trunk command ${h.cmd}`);
  }
}
