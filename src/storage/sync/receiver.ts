/**
 * The storage's side of a peer's sync connection: REPORT_SERVER_ID (9) names the peer, then
 * SYNC_* commands (§7.2) apply its changes and SYNC_WATERMARK (fastdfs-ts) says how far this
 * storage holds the peer's files — what the sync report (89) tells the trackers.
 */
import type { Socket } from 'node:net';
import { FdfsError, type Logger, Status } from '../../common/index.js';
import {
  Cmd,
  cmdName,
  decodeServerId,
  decodeSyncDelete,
  decodeSyncFileHead,
  decodeSyncPair,
  decodeSyncRangeHead,
  decodeWatermark,
  encodeHeader,
  type Header,
  type PacketContext,
  SYNC_FILE_FIXED,
  SYNC_NAME_MAX,
  SYNC_RANGE_FIXED,
} from '../../protocol/index.js';
import type { StorageCounters } from '../counters.js';
import type { StorageEngine } from '../engine.js';
import { WHOLE_BODY_MAX } from '../fd-io.js';
import {
  applyDelete,
  applyFile,
  applyRename,
  applyTruncate,
  applyWriteAt,
  canWriteAt,
  type SyncTarget,
  syncTarget,
} from './apply.js';
import type { PeerGuard } from './peer-guard.js';

const SYNC_COMMANDS: ReadonlySet<number> = new Set([
  Cmd.REPORT_SERVER_ID,
  Cmd.SYNC_CREATE_FILE,
  Cmd.SYNC_UPDATE_FILE,
  Cmd.SYNC_DELETE_FILE,
  Cmd.SYNC_CREATE_LINK,
  Cmd.SYNC_APPEND_FILE,
  Cmd.SYNC_MODIFY_FILE,
  Cmd.SYNC_TRUNCATE_FILE,
  Cmd.SYNC_RENAME_FILE,
  Cmd.SYNC_WATERMARK,
]);

/** Bodies without file content: names and a few numbers. */
const CONTROL_CAP = 2 * SYNC_NAME_MAX + 64;

export interface ReceiverDeps {
  readonly engine: StorageEngine;
  readonly counters: StorageCounters;
  readonly logger: Logger;
  /** This storage's id, to refuse a link to itself. */
  readonly myId: () => string | undefined;
  /** Whether a claimed peer id is a storage of this group at the connection's address. */
  readonly guard: PeerGuard;
}

export class SyncReceiver {
  /** Per source storage id: unix seconds up to which this storage holds its files. */
  readonly syncedFrom = new Map<string, number>();
  /** Peers that send watermarks (fastdfs-ts): their records do not move syncedFrom. */
  private readonly watermarked = new Set<string>();
  private readonly peers = new WeakMap<Socket, string>();

  constructor(private readonly deps: ReceiverDeps) {}

  handles(cmd: number): boolean {
    return SYNC_COMMANDS.has(cmd);
  }

  /** Rows for the sync report (89). */
  reportRows(): { id: string; timestamp: number }[] {
    return [...this.syncedFrom].map(([id, timestamp]) => ({ id, timestamp }));
  }

  async handle(h: Header, ctx: PacketContext): Promise<void> {
    const { engine } = this.deps;
    if (h.cmd === Cmd.REPORT_SERVER_ID) {
      const id = decodeServerId(await ctx.reader.readBody(h.length, 64));
      if (id === '' || id === this.deps.myId()) {
        throw new FdfsError(Status.EINVAL, `report server id: "${id}" is not a peer of this storage`);
      }
      const verdict = await this.deps.guard.admit(id, ctx.remoteAddress);
      if (!verdict.ok) return this.refuse(h, ctx, id, verdict.why);
      this.peers.set(ctx.socket, id);
      this.deps.logger.debug('sync peer connected', { peer: id, from: ctx.peer });
      return ctx.reply();
    }
    let peer = this.peers.get(ctx.socket);
    if (peer === undefined) {
      const self = this.deps.myId();
      peer = self === undefined ? undefined : await this.deps.guard.identify(ctx.remoteAddress, self);
      if (peer === undefined) return this.refuse(h, ctx, '', 'no REPORT_SERVER_ID first');
      this.peers.set(ctx.socket, peer);
    }
    // Re-checked per command from what is known (no tracker round trip): a peer deleted since
    // it connected is cut off.
    const still = this.deps.guard.check(peer, ctx.remoteAddress);
    if (!still.ok) return this.refuse(h, ctx, peer, still.why);
    const log = this.deps.logger.child({ peer, cmd: cmdName(h.cmd) });
    const checkGroup = (group: string, name: string) => engine.checkGroup(group, name);
    let target: SyncTarget | undefined;
    let bytes = 0;
    /** The record's timestamp (when its source made the change). */
    let ts = 0;
    switch (h.cmd) {
      case Cmd.SYNC_WATERMARK: {
        const ts = decodeWatermark(await ctx.reader.readBody(h.length, 64));
        // The first watermark replaces what its records said (they may run ahead of it).
        if (!this.watermarked.has(peer) || ts > (this.syncedFrom.get(peer) ?? 0))
          this.syncedFrom.set(peer, ts);
        this.watermarked.add(peer);
        return ctx.reply();
      }
      case Cmd.SYNC_CREATE_FILE:
      case Cmd.SYNC_UPDATE_FILE: {
        if (h.length < SYNC_FILE_FIXED) throw bad(h, `body of ${h.length} bytes`);
        const head = decodeSyncFileHead(await ctx.reader.readExact(SYNC_FILE_FIXED));
        if (SYNC_FILE_FIXED + head.nameLen + head.fileSize !== h.length)
          throw bad(h, 'lengths do not add up');
        const name = (await ctx.reader.readExact(head.nameLen)).toString('utf8');
        checkGroup(head.group, name);
        target = syncTarget(engine, name);
        const replace = h.cmd === Cmd.SYNC_UPDATE_FILE;
        // A small file is read whole (one buffer, no Readable per record); larger ones stream.
        const body =
          head.fileSize <= WHOLE_BODY_MAX
            ? [await ctx.reader.readExact(head.fileSize)]
            : ctx.reader.take(head.fileSize);
        const r = await applyFile(engine, target, body, head.fileSize, replace, head.timestamp);
        bytes = head.fileSize;
        ts = head.timestamp;
        if (r === 'stale') {
          log.info('sync of a file deleted here since; not applied', {
            fileId: engine.fileId(target.remote),
            name,
            ts: head.timestamp,
          });
        } else {
          log.debug(r === 'applied' ? 'replica applied' : 'replica already present', {
            fileId: engine.fileId(target.remote),
            name,
          });
        }
        break;
      }
      case Cmd.SYNC_DELETE_FILE: {
        const q = decodeSyncDelete(await ctx.reader.readBody(h.length, CONTROL_CAP));
        checkGroup(q.group, q.name);
        target = syncTarget(engine, q.name);
        await applyDelete(engine, target, q.timestamp);
        ts = q.timestamp;
        log.debug('replica deleted', { fileId: engine.fileId(target.remote), name: q.name });
        break;
      }
      case Cmd.SYNC_APPEND_FILE:
      case Cmd.SYNC_MODIFY_FILE: {
        if (h.length < SYNC_RANGE_FIXED) throw bad(h, `body of ${h.length} bytes`);
        const head = decodeSyncRangeHead(await ctx.reader.readExact(SYNC_RANGE_FIXED));
        if (SYNC_RANGE_FIXED + head.nameLen + head.b !== h.length) throw bad(h, 'lengths do not add up');
        const name = (await ctx.reader.readExact(head.nameLen)).toString('utf8');
        checkGroup(head.group, name);
        target = syncTarget(engine, name);
        if (!(await canWriteAt(engine, target, head.a))) {
          // Behind (or missing): the sender falls back to the whole file (SYNC_UPDATE_FILE).
          await ctx.reader.skip(head.b);
          throw new FdfsError(
            Status.ENOENT,
            `${engine.fileId(target.remote)} cannot take a write at ${head.a}`,
          );
        }
        const op = h.cmd === Cmd.SYNC_APPEND_FILE ? 'a' : 'm';
        await applyWriteAt(engine, target, op, head.a, ctx.reader.stream(head.b), head.b, head.timestamp);
        bytes = head.b;
        ts = head.timestamp;
        break;
      }
      case Cmd.SYNC_TRUNCATE_FILE: {
        const body = await ctx.reader.readBody(h.length, CONTROL_CAP);
        if (body.length < SYNC_RANGE_FIXED) throw bad(h, `body of ${h.length} bytes`);
        const head = decodeSyncRangeHead(body.subarray(0, SYNC_RANGE_FIXED));
        if (SYNC_RANGE_FIXED + head.nameLen !== h.length) throw bad(h, 'lengths do not add up');
        const name = body.toString('utf8', SYNC_RANGE_FIXED);
        checkGroup(head.group, name);
        target = syncTarget(engine, name);
        await applyTruncate(engine, target, head.a, head.b, head.timestamp);
        ts = head.timestamp;
        break;
      }
      case Cmd.SYNC_RENAME_FILE:
      case Cmd.SYNC_CREATE_LINK: {
        const q = decodeSyncPair(await ctx.reader.readBody(h.length, CONTROL_CAP));
        checkGroup(q.group, q.dest);
        target = syncTarget(engine, q.dest);
        const src = syncTarget(engine, q.src);
        await applyRename(engine, target, src, q.timestamp, h.cmd === Cmd.SYNC_CREATE_LINK);
        ts = q.timestamp;
        break;
      }
      default:
        throw bad(h, 'not a sync command');
    }
    this.deps.counters.bytes('SyncIn', bytes);
    this.deps.counters.values.lastSyncUpdate = Math.floor(Date.now() / 1000);
    // A stock source sends no watermarks: as FastDFS' receiver does, the newest record applied
    // from it is how far this storage holds its files (reported to trackers, 89).
    if (!this.watermarked.has(peer) && ts > (this.syncedFrom.get(peer) ?? 0)) this.syncedFrom.set(peer, ts);
    await ctx.reply();
  }

  /**
   * Not a storage of this group (or not from its address): warn with the address, the claimed
   * id and the command, answer EACCES and close. The socket is destroyed once the answer is out,
   * so the request loop stops reading whatever else the peer sent.
   */
  private async refuse(h: Header, ctx: PacketContext, claimed: string, why: string): Promise<never> {
    this.deps.logger.warn('sync peer refused', {
      peer: ctx.peer,
      claimedId: claimed,
      cmd: cmdName(h.cmd),
      why,
    });
    const { socket } = ctx;
    await new Promise<void>((resolve) => {
      socket.end(encodeHeader(0, Cmd.RESP, Status.EACCES), () => resolve());
      setTimeout(resolve, 1000).unref();
    });
    socket.destroy();
    throw new FdfsError(Status.EACCES, `${cmdName(h.cmd)} from ${ctx.peer} as ${claimed}: ${why}`);
  }
}

function bad(h: Header, why: string): FdfsError {
  return new FdfsError(Status.EINVAL, `${cmdName(h.cmd)}: ${why}`);
}
