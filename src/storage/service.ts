/** Maps storage wire commands (fact sheet §4) onto the engine. Thin: parse, call, reply. */
import { FdfsError, Status } from '../common/index.js';
import { decodeRemoteFilename, validateRemoteFilename } from '../fileid/index.js';
import {
  BodyReader,
  Cmd,
  decodeDownload,
  decodeGroupAndName,
  decodeSetMetadata,
  decodeSlaveFixed,
  decodeUploadPrefix,
  encodeFileInfo,
  encodeUploadReply,
  type Header,
  METADATA_MERGE,
  METADATA_OVERWRITE,
  type PacketContext,
  SLAVE_FIXED_SIZE,
  UPLOAD_PREFIX_SIZE,
  unknownCommand,
  unpackMetadata,
} from '../protocol/index.js';
import { appendFile, crcOfFile, modifyFile, regenerateAppender, truncateAppender } from './appender.js';
import type { StorageCounters } from './counters.js';
import { sendDownload } from './download.js';
import type { StorageEngine } from './engine.js';
import { WHOLE_BODY_MAX } from './fd-io.js';
import type { SyncReceiver } from './sync/index.js';
import { handlesTrunk, handleTrunk } from './trunk/index.js';

const einval = (msg: string) => new FdfsError(Status.EINVAL, msg);

export function storageHandler(engine: StorageEngine, counters: StorageCounters, sync?: SyncReceiver) {
  const cap = engine.deps.config.buffSize;

  async function upload(h: Header, ctx: PacketContext, kind: 'normal' | 'appender'): Promise<void> {
    if (h.length < UPLOAD_PREFIX_SIZE)
      throw einval(`upload body of ${h.length} bytes is shorter than ${UPLOAD_PREFIX_SIZE}`);
    const p = decodeUploadPrefix(await ctx.reader.readExact(UPLOAD_PREFIX_SIZE));
    if (p.size !== h.length - UPLOAD_PREFIX_SIZE)
      throw einval(`upload file size ${p.size} does not match body length ${h.length}`);
    // A small body is read whole (at most what writeTemp would gather for one write anyway).
    const remote =
      p.size <= WHOLE_BODY_MAX
        ? await engine.uploadData(await ctx.reader.readExact(p.size), p.ext, p.storePathIndex, kind)
        : await engine.upload({
            body: ctx.reader.take(p.size),
            size: p.size,
            ext: p.ext,
            storePathIndex: p.storePathIndex,
            kind,
          });
    counters.bytes('Upload', p.size);
    await ctx.reply(encodeUploadReply(engine.group, remote));
  }

  async function uploadSlave(h: Header, ctx: PacketContext): Promise<void> {
    if (h.length < SLAVE_FIXED_SIZE) throw einval(`slave upload body of ${h.length} bytes is too short`);
    const f = decodeSlaveFixed(await ctx.reader.readExact(SLAVE_FIXED_SIZE));
    if (f.size !== h.length - SLAVE_FIXED_SIZE - f.masterLen)
      throw einval(`slave file size ${f.size} does not match body length`);
    const master = (await ctx.reader.readExact(f.masterLen)).toString('utf8');
    const remote = await engine.uploadSlave(master, f.prefix, f.ext, ctx.reader.take(f.size), f.size);
    await ctx.reply(encodeUploadReply(engine.group, remote));
  }

  async function groupAndName(h: Header, ctx: PacketContext, what: string): Promise<string> {
    const { group, remote } = decodeGroupAndName(await ctx.reader.readBody(h.length, cap), what);
    validateRemoteFilename(remote);
    engine.checkGroup(group, remote);
    return remote;
  }

  async function download(h: Header, ctx: PacketContext): Promise<void> {
    const q = decodeDownload(await ctx.reader.readBody(h.length, cap));
    validateRemoteFilename(q.remote);
    engine.checkGroup(q.group, q.remote);
    counters.bytes('Download', await sendDownload(engine, ctx.socket, q));
  }

  async function fileInfo(h: Header, ctx: PacketContext): Promise<void> {
    const remote = await groupAndName(h, ctx, 'query file info');
    const f = await engine.existing(remote);
    const d = decodeRemoteFilename(remote);
    const skipCrc = (h.status & 1) !== 0;
    let crc = d.crc32;
    if (d.type === 'appender' || d.type === 'slave') crc = skipCrc ? 0 : await crcOfFile(f.path);
    const sourceIp = d.source.kind === 'ip' ? d.source.ip : '';
    await ctx.reply(encodeFileInfo({ size: f.size, timestamp: f.mtimeSec, crc32: crc, sourceIp }));
  }

  async function appenderPrefix(
    h: Header,
    ctx: PacketContext,
    fixed: 16 | 24,
  ): Promise<{ remote: string; offset: number; size: number }> {
    if (h.length < fixed) throw einval(`body of ${h.length} bytes is too short`);
    const r = new BodyReader(await ctx.reader.readExact(fixed), 'appender request');
    const nameLen = r.length('filename length');
    const offset = fixed === 24 ? r.length('offset') : 0;
    const size = r.length('content length');
    if (nameLen < 44 || nameLen > 127)
      throw einval(`appender filename length ${nameLen} out of range 44..127`);
    if (size !== h.length - fixed - nameLen)
      throw einval(`content length ${size} does not match body length ${h.length}`);
    const remote = (await ctx.reader.readExact(nameLen)).toString('utf8');
    validateRemoteFilename(remote);
    return { remote, offset, size };
  }

  return async function handle(h: Header, ctx: PacketContext): Promise<void> {
    switch (h.cmd) {
      case Cmd.UPLOAD_FILE:
        return counters.track('Upload', upload(h, ctx, 'normal'));
      case Cmd.UPLOAD_APPENDER_FILE:
        return counters.track('Upload', upload(h, ctx, 'appender'));
      case Cmd.UPLOAD_SLAVE_FILE:
        return counters.track('Upload', uploadSlave(h, ctx));
      case Cmd.DOWNLOAD_FILE:
        return counters.track('Download', download(h, ctx));
      case Cmd.DELETE_FILE:
        return counters.track(
          'Delete',
          (async () => {
            await engine.delete(await groupAndName(h, ctx, 'delete'));
            await ctx.reply();
          })(),
        );
      case Cmd.SET_METADATA:
        return counters.track(
          'SetMeta',
          (async () => {
            const q = decodeSetMetadata(await ctx.reader.readBody(h.length, cap));
            if (q.flag !== METADATA_OVERWRITE && q.flag !== METADATA_MERGE)
              throw einval(`metadata op flag ${q.flag} is not 'O' or 'M'`);
            validateRemoteFilename(q.remote);
            engine.checkGroup(q.group, q.remote);
            await engine.setMetadata(
              q.remote,
              unpackMetadata(q.meta),
              q.flag === METADATA_MERGE ? 'merge' : 'overwrite',
            );
            await ctx.reply();
          })(),
        );
      case Cmd.GET_METADATA:
        return counters.track(
          'GetMeta',
          (async () => {
            await ctx.reply(await engine.getMetadataRaw(await groupAndName(h, ctx, 'get metadata')));
          })(),
        );
      case Cmd.QUERY_FILE_INFO:
        return fileInfo(h, ctx);
      case Cmd.APPEND_FILE:
        return counters.track(
          'Append',
          (async () => {
            const q = await appenderPrefix(h, ctx, 16);
            await appendFile(engine, q.remote, ctx.reader.stream(q.size), q.size);
            await ctx.reply();
          })(),
        );
      case Cmd.MODIFY_FILE:
        return counters.track(
          'Modify',
          (async () => {
            const q = await appenderPrefix(h, ctx, 24);
            await modifyFile(engine, q.remote, q.offset, ctx.reader.stream(q.size), q.size);
            await ctx.reply();
          })(),
        );
      case Cmd.TRUNCATE_FILE:
        return counters.track(
          'Truncate',
          (async () => {
            const r = new BodyReader(await ctx.reader.readBody(h.length, cap), 'truncate');
            const nameLen = r.length('filename length');
            const newSize = r.length('new size');
            if (nameLen !== r.remaining || nameLen < 44 || nameLen > 127)
              throw einval(`truncate filename length ${nameLen} is invalid`);
            const remote = r.string(nameLen);
            validateRemoteFilename(remote);
            await truncateAppender(engine, remote, newSize);
            await ctx.reply();
          })(),
        );
      case Cmd.REGENERATE_APPENDER_FILENAME: {
        const remote = (await ctx.reader.readBody(h.length, cap)).toString('utf8');
        validateRemoteFilename(remote);
        const next = await regenerateAppender(engine, remote);
        return ctx.reply(encodeUploadReply(engine.group, next));
      }
      default:
        // Peers' pushes (REPORT_SERVER_ID, SYNC_*): replication's receiver applies them.
        if (sync?.handles(h.cmd)) return sync.handle(h, ctx);
        if (engine.deps.trunk && handlesTrunk(h.cmd))
          return handleTrunk(engine.deps.trunk, engine.group, h, ctx);
        throw unknownCommand(h);
    }
  };
}
