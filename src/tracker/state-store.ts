/**
 * Crash-safe cluster state: `<base_path>/data/cluster_state.dat`, written as temp file + fsync +
 * rename + directory fsync. The first line carries the body's length and CRC-32, so a torn or
 * corrupted file is detected and ignored (with a warning) instead of trusted.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  crc32,
  FdfsError,
  type Logger,
  removeAtomicTemps,
  Status,
  writeFileAtomic,
} from '../common/index.js';
import { type ClusterSnapshot, isClusterSnapshot } from './snapshot.js';

export const STATE_FILE_NAME = 'cluster_state.dat';
const MAGIC = 'fastdfs-ts tracker state v1';
const HEAD_RE = /^fastdfs-ts tracker state v1 crc32=([0-9a-f]{8}) bytes=(\d+)$/;

export function stateFilePath(basePath: string): string {
  return join(basePath, 'data', STATE_FILE_NAME);
}

export function encodeState(snap: ClusterSnapshot): Buffer {
  const body = Buffer.from(JSON.stringify(snap), 'utf8');
  const head = `${MAGIC} crc32=${crc32(body).toString(16).padStart(8, '0')} bytes=${body.length}\n`;
  return Buffer.concat([Buffer.from(head, 'ascii'), body]);
}

function corrupt(msg: string): FdfsError {
  return new FdfsError(Status.EINVAL, `state file: ${msg}`);
}

/** Throws EINVAL unless the header, length, checksum and shape all check out. */
export function decodeState(buf: Buffer): ClusterSnapshot {
  const nl = buf.indexOf(0x0a);
  if (nl < 0 || nl > 200) throw corrupt('no header line');
  const m = HEAD_RE.exec(buf.toString('ascii', 0, nl));
  if (!m) throw corrupt('bad header line');
  const body = buf.subarray(nl + 1);
  if (body.length !== Number(m[2])) throw corrupt(`body is ${body.length} bytes, header says ${m[2]}`);
  if (crc32(body).toString(16).padStart(8, '0') !== m[1]) throw corrupt('checksum mismatch');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new FdfsError(Status.EINVAL, 'state file: body is not JSON', { cause: err });
  }
  if (!isClusterSnapshot(parsed)) throw corrupt('unexpected content');
  return parsed;
}

/** The saved state, or undefined when there is none or it cannot be trusted (logged). */
export async function loadState(path: string, logger: Logger): Promise<ClusterSnapshot | undefined> {
  // A kill -9 mid-save leaves writeFileAtomic's temp beside the state file, forever otherwise.
  const stale = await removeAtomicTemps(dirname(path));
  if (stale.length > 0) logger.info('removed state temp files left by a crash', { path, removed: stale });
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return decodeState(buf);
  } catch (err) {
    logger.warn('ignoring unreadable tracker state file', { path, err });
    return undefined;
  }
}

/**
 * Saves the latest snapshot: `saveSoon()` debounces (beats change counters all the time),
 * `saveNow()` writes before answering (join, delete). Writes never overlap; a save requested
 * while one waits to start shares it, and every write takes the snapshot when it begins.
 */
export class StatePersister {
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pending: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => ClusterSnapshot,
    private readonly logger: Logger,
    private readonly debounceMs = 1000,
  ) {}

  saveSoon(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.saveNow().catch(() => {
        // logged in saveNow
      });
    }, this.debounceMs);
    this.#timer.unref();
  }

  saveNow(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending) return this.#pending;
    const p = this.#queue.then(async () => {
      this.#pending = undefined;
      try {
        await writeFileAtomic(this.path, encodeState(this.snapshot()));
      } catch (err) {
        this.logger.error('saving tracker state failed', { path: this.path, err });
        throw err;
      }
    });
    this.#pending = p;
    this.#queue = p.catch(() => {});
    return p;
  }

  /** Final save on close (after any write in flight); later `saveSoon()` calls are ignored. */
  async flush(): Promise<void> {
    this.#closed = true;
    await this.saveNow();
  }
}
