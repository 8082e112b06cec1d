/**
 * An upload into a trunk slot (FastDFS' use_trunk_file): the trunk server holds a slot, the bytes
 * go 24 past its start in the trunk file, then the header (so a torn write leaves no header, no
 * file); the name carries the slot. Before the client hears of it the trunk file (one fdatasync
 * shared by every upload into it meanwhile) and the binlog record (group-committed too) reach the
 * disk, and the trunk server has the confirmation — on its disk first when it is another storage;
 * when it is this one, its restart checks the list against the binlog instead (reconcile.ts). A
 * crash loses no answered upload, and leaves no named file in space listed as free.
 */
import { Crc32, crc32, FdfsError, type Logger, Status } from '../../common/index.js';
import { encodeRemoteFilename, type SourceId, validateExt } from '../../fileid/index.js';
import { BinlogOp } from '../binlog.js';
import type { StorageEngine } from '../engine.js';
import { preadFd, pwritevFd } from '../fd-io.js';
import { describeSlot, FILE_TYPE_REGULAR, packHeader, TRUNK_HEADER_SIZE, type TrunkSlot } from './slot.js';
import type { Trunks } from './store.js';
import type { TrunkWriter } from './writer.js';

export interface TrunkUpload {
  readonly body: AsyncIterable<Buffer>;
  readonly size: number;
  readonly ext: string;
  readonly storePathIndex: number;
  readonly source: SourceId;
  /** Called once the body is read whole, with its size and CRC-32 (the S3 intent starts). */
  readonly bodyEnded?: (size: number, crc32: number) => void;
  /**
   * Awaited before the file is named (its header and binlog record): the S3 upload intent. A
   * rejection gives the slot back and fails the upload.
   */
  readonly commitAfter?: () => Promise<unknown>;
}

/** A slot someone's file already occupies is dropped (confirm EEXIST) and another asked for, this often. */
const MAX_OCCUPIED = 5;
/** Body bytes gathered before they are written (one pwritev). */
const GATHER = 256 * 1024;

async function isFree(fd: number, slot: TrunkSlot): Promise<boolean> {
  const head = Buffer.alloc(TRUNK_HEADER_SIZE);
  const n = await preadFd(fd, head, 0, TRUNK_HEADER_SIZE, slot.offset);
  return n < TRUNK_HEADER_SIZE || head.every((b) => b === 0);
}

/** A held, unoccupied slot with its trunk file open, or undefined when no space could be had. */
async function takeSlot(
  trunks: Trunks,
  size: number,
  storePathIndex: number,
  log: Logger,
): Promise<{ slot: TrunkSlot; path: string; fd: number } | undefined> {
  for (let tries = 0; tries < MAX_OCCUPIED; tries++) {
    let slot: TrunkSlot;
    try {
      slot = await trunks.alloc(size + TRUNK_HEADER_SIZE, storePathIndex);
    } catch (err) {
      log.warn('no trunk space: stored as a normal file', { size, err });
      return undefined;
    }
    const path = trunks.fileOf(slot);
    let fd: number;
    try {
      fd = await trunks.files.acquire(path, trunks.params.trunkFileSize);
      if (await isFree(fd, slot)) return { slot, path, fd };
    } catch (err) {
      await trunks.confirm(slot, Status.EIO).catch(() => {});
      throw err;
    }
    trunks.files.release(path);
    log.warn('trunk slot already occupied, asking for another', { slot: describeSlot(slot) });
    await trunks.confirm(slot, Status.EEXIST).catch(() => {});
  }
  return undefined;
}

/**
 * Uploads up to this size go whole to the writer thread (a bigger one streams in pieces); a body
 * of unknown length is read this far to learn whether it is that small (engine.ts).
 */
export const TRUNK_WHOLE_MAX = 256 * 1024;

async function gather(body: AsyncIterable<Buffer>, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const c of body) {
    got += c.length;
    if (got > size) break;
    chunks.push(c);
  }
  if (got !== size) throw new FdfsError(Status.EINVAL, `received ${got} bytes, expected ${size}`);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

function nameAndHeader(slot: TrunkSlot, input: TrunkUpload, crc32: number, startTime: number) {
  const remote = encodeRemoteFilename({
    storePathIndex: slot.storePathIndex,
    subdirHigh: slot.subdirHigh,
    subdirLow: slot.subdirLow,
    source: input.source,
    timestamp: startTime,
    size: input.size,
    crc32,
    ext: input.ext,
    kind: 'trunk',
    trunk: { trunkFileId: slot.id, offset: slot.offset, allocSize: slot.size },
  });
  const header = packHeader({
    fileType: FILE_TYPE_REGULAR,
    allocSize: slot.size,
    fileSize: input.size,
    crc32,
    mtime: startTime,
    formattedExt: remote.slice(-7),
  });
  return { remote, header };
}

/**
 * What an upload into trunk space came to: the file's name; or, when no unoccupied slot could be
 * had, nothing of the body read (undefined) or the body read whole (`unpacked`). Either way the
 * caller stores it as a normal file.
 */
export type TrunkUploadResult = string | { readonly unpacked: Buffer } | undefined;

/**
 * A small upload through the writer thread (writer.ts): the body is read whole, the slot's
 * header and bytes go over in one job, and that job, the confirmation and the binlog record run
 * together (the binlog record after the confirmation when the trunk server is another storage).
 */
async function uploadWhole(
  engine: StorageEngine,
  trunks: Trunks,
  writer: TrunkWriter,
  input: TrunkUpload,
  first: TrunkSlot,
): Promise<TrunkUploadResult> {
  const { binlog, logger } = engine.deps;
  const startTime = Math.floor(Date.now() / 1000);
  let data: Buffer;
  try {
    data = await gather(input.body, input.size);
  } catch (err) {
    await trunks.confirm(first, Status.EIO).catch(() => {});
    throw err;
  }
  const crc = crc32(data);
  input.bodyEnded?.(input.size, crc);
  if (input.commitAfter) {
    try {
      await input.commitAfter();
    } catch (err) {
      await trunks.confirm(first, Status.EIO).catch(() => {});
      throw err;
    }
  }
  let slot = first;
  for (let tries = 0; ; tries++) {
    const { remote, header } = nameAndHeader(slot, input, crc, startTime);
    const job = {
      path: trunks.fileOf(slot),
      fileSize: trunks.params.trunkFileSize,
      offset: slot.offset,
      header,
      data,
    };
    try {
      await engine.locks.run(
        remote,
        async () => {
          if (trunks.isServer && !trunks.replicating) {
            await Promise.all([
              writer.write(job),
              trunks.confirm(slot, 0, true),
              binlog.append(BinlogOp.CREATE, remote),
            ]);
          } else {
            // The record only once the confirmation is where the next trunk server will look
            // (its disk, or every peer's copy): replicated earlier, a file whose slot the next
            // one lists free would overwrite the file it puts there.
            await Promise.all([writer.write(job), trunks.confirm(slot, 0, trunks.isServer)]);
            await binlog.append(BinlogOp.CREATE, remote);
          }
        },
        { fresh: true },
      );
      return remote;
    } catch (err) {
      // Confirmed with 0 already: an occupied slot is off the list either way (as EEXIST does).
      if (!(err instanceof FdfsError && err.status === Status.EEXIST)) throw err;
      logger.warn('trunk slot already occupied, asking for another', { slot: describeSlot(slot) });
      // A run of slots written by uploads a crash cut off before they were answered (listed free
      // after the restart, their headers in place): past a few, the file goes to a normal file,
      // as takeSlot's uploads do, rather than fail the client for the storage's own state.
      if (tries + 1 >= MAX_OCCUPIED) return { unpacked: data };
      try {
        slot = await trunks.alloc(input.size + TRUNK_HEADER_SIZE, slot.storePathIndex);
      } catch (allocErr) {
        logger.warn('no trunk space: stored as a normal file', { size: input.size, err: allocErr });
        return { unpacked: data };
      }
    }
  }
}

/** Stores the upload in a trunk slot and returns its name, or what to store as a normal file. */
export async function uploadToTrunk(
  engine: StorageEngine,
  trunks: Trunks,
  input: TrunkUpload,
): Promise<TrunkUploadResult> {
  validateExt(input.ext);
  const { paths, binlog, logger } = engine.deps;
  const storePathIndex = paths.choose(input.storePathIndex, input.size + TRUNK_HEADER_SIZE);
  const writer = trunks.writer;
  if (writer && input.size <= TRUNK_WHOLE_MAX) {
    let slot: TrunkSlot;
    try {
      slot = await trunks.alloc(input.size + TRUNK_HEADER_SIZE, storePathIndex);
    } catch (err) {
      logger.warn('no trunk space: stored as a normal file', { size: input.size, err });
      return undefined;
    }
    return uploadWhole(engine, trunks, writer, input, slot);
  }
  const startTime = Math.floor(Date.now() / 1000);
  const got = await takeSlot(trunks, input.size, storePathIndex, logger);
  if (!got) return undefined;
  const { slot, path, fd } = got;
  let confirmed = false;
  try {
    const base = slot.offset + TRUNK_HEADER_SIZE;
    const crc = new Crc32();
    let received = 0;
    let written = 0;
    let gathered: Buffer[] = [];
    let gatheredBytes = 0;
    for await (const chunk of input.body) {
      received += chunk.length;
      if (received > input.size) break;
      crc.update(chunk);
      gathered.push(chunk);
      gatheredBytes += chunk.length;
      if (gatheredBytes >= GATHER) {
        await pwritevFd(fd, gathered, base + written);
        written += gatheredBytes;
        gathered = [];
        gatheredBytes = 0;
      }
    }
    if (received !== input.size) {
      throw new FdfsError(Status.EINVAL, `received ${received} bytes, expected ${input.size}`);
    }
    input.bodyEnded?.(received, crc.value);
    // No header yet: a rejection leaves the slot free, and the catch below gives it back.
    await input.commitAfter?.();
    const remote = encodeRemoteFilename({
      storePathIndex: slot.storePathIndex,
      subdirHigh: slot.subdirHigh,
      subdirLow: slot.subdirLow,
      source: input.source,
      timestamp: startTime,
      size: input.size,
      crc32: crc.value,
      ext: input.ext,
      kind: 'trunk',
      trunk: { trunkFileId: slot.id, offset: slot.offset, allocSize: slot.size },
    });
    const header = packHeader({
      fileType: FILE_TYPE_REGULAR,
      allocSize: slot.size,
      fileSize: input.size,
      crc32: crc.value,
      mtime: startTime,
      formattedExt: remote.slice(-7),
    });
    // Header and body in one write when the body came whole; else the header goes last.
    if (written === 0) await pwritevFd(fd, [header, ...gathered], slot.offset);
    else {
      if (gatheredBytes > 0) await pwritevFd(fd, gathered, base + written);
      await pwritevFd(fd, [header], slot.offset);
    }
    await engine.locks.run(
      remote,
      async () => {
        confirmed = true;
        if (trunks.isServer && !trunks.replicating) {
          // This storage's own list: the binlog record, synced with the bytes, is the witness a
          // restart checks the list against (reconcile.ts); the D record follows unhurried.
          await Promise.all([
            trunks.files.sync(path),
            trunks.confirm(slot, 0, true),
            binlog.append(BinlogOp.CREATE, remote),
          ]);
        } else {
          // The trunk server's list: the record only once it has the confirmation on its disk (and
          // in its peers' copies), so a name the binlog (or a client) knows never points into
          // space listed there as free.
          await Promise.all([trunks.files.sync(path), trunks.confirm(slot, 0, trunks.isServer)]);
          await binlog.append(BinlogOp.CREATE, remote);
        }
      },
      { fresh: true },
    );
    return remote;
  } catch (err) {
    // Before the confirmation the header is not on disk (or not yet written): the slot goes back.
    if (!confirmed) {
      const status = err instanceof FdfsError ? err.status : Status.EIO;
      await trunks.confirm(slot, status === 0 ? Status.EIO : status).catch(() => {});
    }
    throw err;
  } finally {
    trunks.files.release(path);
  }
}
