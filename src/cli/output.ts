/** What the client verbs print: results on stdout (text or `--json`), one error line on stderr. */
import { FdfsError, statusName, toStatus } from '../common/index.js';

/** The streams a verb writes to; only cli touches process.stdout / process.stderr. */
export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
}

export const processIo: Io = { stdout: process.stdout, stderr: process.stderr };

/** One JSON document per command, on one line, so `jq` and line-based readers both work. */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

/** The errno a failure exits with: the FastDFS status, or EIO for anything without one. */
export function exitStatusOf(err: unknown): number {
  const status = toStatus(err);
  return status > 0 && status < 256 ? status : 1;
}

/**
 * The one stderr line of a failed command: `fdfs download: <what> on <server>: ENOENT (…)`.
 * Client errors already name the action, file id and server; `subject` (the file id or local
 * file the command was about) is added only when the message does not carry it yet.
 */
export function errorLine(prog: string, err: unknown, subject?: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const status = exitStatusOf(err);
  const about = subject && !message.includes(subject) ? ` ${subject}` : '';
  const name = statusName(status);
  const tail = message.includes(name) ? ` (errno ${status})` : ` (${name}, errno ${status})`;
  return `${prog}${about}: ${message.replace(/\s+/g, ' ').trim()}${tail}`;
}

/** The same failure as one JSON line (for `--json`), with the stable code scripts switch on. */
export function errorJson(err: unknown, subject?: string): Record<string, unknown> {
  const status = exitStatusOf(err);
  return {
    ok: false,
    error: {
      status,
      code: err instanceof FdfsError ? err.code : `FDFS_ERR_${statusName(status)}`,
      message: err instanceof Error ? err.message : String(err),
      ...(err instanceof FdfsError && err.fileId ? { fileId: err.fileId } : {}),
      ...(err instanceof FdfsError && err.peer ? { server: err.peer } : {}),
      ...(subject ? { subject } : {}),
    },
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `%Y-%m-%d %H:%M:%S` in local time, as FastDFS' tools print unix seconds. */
export function formatDatetime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** 1536 → `1.50 KB`; below 1 KB the plain byte count. */
export function humanBytes(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(2)} ${UNITS[i]}`;
}

/** A megabyte count as fdfs_monitor shows disk space. */
export function humanMb(mb: number): string {
  return humanBytes(mb * 1024 * 1024);
}
