/**
 * Optional native helpers, built from C by `npm run build` when a C compiler and Node's headers
 * are on the machine (build.ts). Everything here has a plain JavaScript fallback: a missing addon
 * only costs speed. `FDFS_NATIVE=0` turns the addon off (for comparisons).
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';

export interface SendFileResult {
  /** Bytes the kernel took. */
  readonly sent: number;
  /**
   * 0 when all `count` bytes went; else why it stopped: EPIPE/ECONNRESET (client gone), ETIMEDOUT
   * (nothing taken for stallMs), ECANCELED (`cancel[0]` set), EIO (the file ended early).
   */
  readonly errno: number;
}

export type SendFile = (
  socketFd: number,
  fileFd: number,
  offset: number,
  count: number,
  stallMs: number,
  /** Set `cancel[0]` to 1 to end the transfer (checked every 100 ms while the client is slow). */
  cancel: Int32Array,
) => Promise<SendFileResult>;

/** Where build.ts puts the addon, relative to this module once compiled (dist/src/native/). */
export const ADDON_PATH = '../../native/fdfs_native.node';
/** The same file seen from this module's source (src/native/), as tests load it. */
const FROM_SOURCE = '../../dist/native/fdfs_native.node';

interface Addon {
  readonly sendFile: SendFile;
  readonly createFile: (
    path: string,
    bytes: Uint8Array,
    sync: boolean,
    to?: string,
    logFd?: number,
    logBytes?: Uint8Array,
  ) => Promise<number>;
  readonly moveNew: (from: string, to: string) => Promise<number>;
  readonly syncDir: (path: string) => Promise<number>;
  readonly appendSync: (fd: number, bytes: Uint8Array, sync: boolean) => Promise<number>;
}

function load(): Addon | undefined {
  if (process.platform !== 'linux' || process.env.FDFS_NATIVE === '0') return undefined;
  const require = createRequire(import.meta.url);
  for (const path of [ADDON_PATH, FROM_SOURCE]) {
    try {
      const addon = require(path) as Partial<Addon>;
      const names = ['sendFile', 'createFile', 'moveNew', 'syncDir', 'appendSync'] as const;
      if (names.every((n) => typeof addon[n] === 'function')) return addon as Addon;
    } catch {
      // not built there
    }
  }
  return undefined; // not built here: the plain JavaScript paths
}

const addon = load();

/** An addon job's errno as the Error node:fs would raise (code, errno, syscall, path). */
function failIf(errno: number, syscall: string, path: string): void {
  if (errno === 0) return;
  const code = getSystemErrorName(-errno);
  throw Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, errno: -errno, syscall, path });
}

/** sendfile(2) from a file to a socket off the event loop, or undefined when not built. */
export const sendFile: SendFile | undefined = addon?.sendFile;

/** A binlog record a createFile job appends (unsynced) before it makes the file. */
export interface RecordFirst {
  readonly fd: number;
  readonly bytes: Uint8Array;
}

/**
 * A new file (O_EXCL) holding `bytes`, fdatasynced when `sync`, in one job of the addon (open,
 * pwrite, fdatasync and close through node:fs are four round trips); undefined when not built.
 * Fails as node:fs does, the file removed again. With `to`, the file ends up there in the same
 * job, never replacing a name: made unnamed in its folder (O_TMPFILE) and linked, or where that
 * cannot be done, written at `path` and moved as moveNew does. A taken name (EEXIST) carries
 * `tempKept: true`, the complete file then at `path`. With `log`, that record is appended first;
 * if it cannot be, no file is made.
 */
export const createFile:
  | ((path: string, bytes: Uint8Array, sync: boolean, to?: string, log?: RecordFirst) => Promise<void>)
  | undefined =
  addon &&
  (async (path, bytes, sync, to, log) => {
    const r = await (log
      ? addon.createFile(path, bytes, sync, to, log.fd, log.bytes)
      : addon.createFile(path, bytes, sync, to)); // undefined: no target
    if (r >= 0) return failIf(r, 'createFile', path);
    try {
      failIf(-r, 'moveNew', to ?? path);
    } catch (err) {
      throw Object.assign(err as Error, { tempKept: true });
    }
  });

/**
 * `from` renamed to `to` unless `to` exists (EEXIST), in one job (renameat2 RENAME_NOREPLACE, or
 * link + unlink where the filesystem lacks it): link and unlink through node:fs are two round
 * trips. undefined when not built.
 */
export const moveNew: ((from: string, to: string) => Promise<void>) | undefined =
  addon && (async (from, to) => failIf(await addon.moveNew(from, to), 'moveNew', to));

/** open, fsync and close of a directory in one job (three round trips through node:fs). */
export const syncDir: ((path: string) => Promise<void>) | undefined =
  addon && (async (path) => failIf(await addon.syncDir(path), 'syncDir', path));

/**
 * Every byte of `bytes` written to `fd` (opened O_APPEND), then fdatasync when `sync`, in one job
 * (a binlog's group commit: two round trips through node:fs). undefined when not built.
 */
export const appendSync: ((fd: number, bytes: Uint8Array, sync: boolean) => Promise<void>) | undefined =
  addon &&
  (async (fd, bytes, sync) => failIf(await addon.appendSync(fd, bytes, sync), 'appendSync', `fd ${fd}`));

/**
 * The descriptor under a plain TCP socket, or undefined (not connected, not a plain fd, or TLS:
 * bytes sent past Node there would skip the encryption). Node keeps it on the socket's handle;
 * nothing public exposes it.
 */
export function socketFd(socket: Socket): number | undefined {
  if ((socket as { encrypted?: boolean }).encrypted) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

const NOTHING = Buffer.alloc(0);

/**
 * `count` bytes of `fd` from `offset` onto a plain TCP socket by sendfile, after everything Node
 * has already queued on it; undefined when that cannot be done here (no addon, TLS, no
 * descriptor) and nothing was written. The socket's idle timeout is off meanwhile (Node sees no
 * writes of its own): a client that takes nothing for `stallMs` ends the transfer instead
 * (ETIMEDOUT). A socket destroyed meanwhile ends it too (ECANCELED): the addon holds its own copy
 * of the descriptor, which would keep the connection open.
 */
export async function sendFileTo(
  socket: Socket,
  fd: number,
  offset: number,
  count: number,
  stallMs: number,
): Promise<SendFileResult | undefined> {
  const sock = socketFd(socket);
  if (!sendFile || sock === undefined) return undefined;
  // A zero-length write completes after the writes queued before it: then they are in the kernel.
  await new Promise<void>((resolve, reject) =>
    socket.write(NOTHING, (err) => (err ? reject(err) : resolve())),
  );
  const idle = socket.timeout ?? 0;
  if (idle > 0) socket.setTimeout(0);
  const cancel = new Int32Array(1);
  const onClose = () => {
    cancel[0] = 1;
  };
  socket.once('close', onClose);
  try {
    return await sendFile(sock, fd, offset, count, stallMs, cancel);
  } finally {
    socket.off('close', onClose);
    if (idle > 0 && !socket.destroyed) socket.setTimeout(idle);
  }
}
