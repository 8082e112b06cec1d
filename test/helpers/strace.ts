/**
 * Reading a process's system calls: Debian's strace runs it (`straceWrap`), and `parseStrace`
 * turns the log into calls with their fd's path or socket endpoints and their decoded byte
 * arguments, in the order the kernel saw them begin and return.
 */
import { existsSync } from 'node:fs';
import { optOutReason } from './opt-out.js';

export const STRACE = '/usr/bin/strace';

/** Why the strace tests are skipped (FDFS_SKIP_STRACE=1), or undefined; throws when strace is missing. */
export function straceSkipReason(): string | undefined {
  return optOutReason('FDFS_SKIP_STRACE', existsSync(STRACE), `strace (${STRACE})`, 'apt-get install strace');
}

const CALLS = [
  'fsync',
  'fdatasync',
  'link',
  'linkat',
  'rename',
  'renameat',
  'renameat2',
  'read',
  'recvfrom',
  'recvmsg',
  'write',
  'writev',
  'pwrite64',
  'pwritev',
  'pwritev2',
  'sendto',
  'sendmsg',
];

/**
 * strace and its options, to put before a command: follow threads, fd paths and TCP endpoints
 * (-yy), every byte as \xNN (-xx) so paths and data decode exactly, 512 bytes of each buffer.
 */
export function straceWrap(log: string): string[] {
  return [
    STRACE,
    '-f',
    '--seccomp-bpf',
    '-tt',
    '-yy',
    '-xx',
    '-s',
    '512',
    '-e',
    `trace=${CALLS.join(',')}`,
    '-o',
    log,
  ];
}

export interface Syscall {
  readonly tid: number;
  readonly name: string;
  /** The first argument's fd annotation: a file's path, or `TCP:[local->remote]`. */
  readonly fdPath?: string;
  /** Every quoted argument, decoded (paths of link/rename; data of read/write). */
  readonly strings: readonly Buffer[];
  /** All quoted arguments joined: the bytes a write sent or a read received (up to -s). */
  readonly data: Buffer;
  readonly ret: number;
  /** Log line where the call began and where it returned: the order the kernel saw. */
  readonly start: number;
  readonly end: number;
}

const unhex = (s: string): Buffer => Buffer.from(s.replace(/\\x/g, ''), 'hex');

function build(
  tid: number,
  name: string,
  args: string,
  retText: string,
  start: number,
  end: number,
): Syscall {
  // A socket's annotation holds "->": `TCP:[127.0.0.2:23000->127.0.0.1:40000]`.
  const fd = /^\s*(?:-?\d+|AT_FDCWD)<(TCP6?:\[[^\]]*\]|[^>]*)>/.exec(args);
  const strings = [...args.matchAll(/"((?:\\x[0-9a-f]{2})*)"/g)].map((m) => unhex(m[1] ?? ''));
  const annotation = fd?.[1];
  return {
    tid,
    name,
    ...(annotation === undefined
      ? {}
      : { fdPath: annotation.includes('\\x') ? unhex(annotation).toString('utf8') : annotation }),
    strings,
    data: Buffer.concat(strings),
    ret: Number.parseInt(retText, 10),
    start,
    end,
  };
}

/** Calls in the order they returned; an interrupted call (`<unfinished ...>`) is joined to its resumption. */
export function parseStrace(text: string): Syscall[] {
  const out: Syscall[] = [];
  const pending = new Map<number, { name: string; args: string; start: number }>();
  text.split('\n').forEach((line, i) => {
    const m = /^(\d+) +\S+ (.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) return;
    const tid = Number(m[1]);
    const rest = m[2];
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished?.[1] && unfinished[2] !== undefined) {
      pending.set(tid, { name: unfinished[1], args: unfinished[2], start: i });
      return;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\) += (-?\d+|\?)/.exec(rest);
    if (resumed?.[1] && resumed[2] !== undefined && resumed[3]) {
      const p = pending.get(tid);
      pending.delete(tid);
      if (p) out.push(build(tid, p.name, p.args + resumed[2], resumed[3], p.start, i));
      return;
    }
    const whole = /^(\w+)\((.*)\) += (-?\d+|\?)/.exec(rest);
    if (whole?.[1] && whole[2] !== undefined && whole[3])
      out.push(build(tid, whole[1], whole[2], whole[3], i, i));
  });
  return out;
}

export const SYNCS = new Set(['fsync', 'fdatasync']);
export const WRITES = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'sendto', 'sendmsg']);
export const READS = new Set(['read', 'recvfrom', 'recvmsg']);
