/**
 * What a process listens on, read from /proc: the TCP sockets in LISTEN state whose inodes are
 * among the process's open file descriptors. Linux only, no external tools.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface Listener {
  readonly host: string;
  readonly port: number;
}

/** `0100007F:5DC0` (little-endian IPv4 as /proc prints it) → { host: '127.0.0.1', port: 24000 }. */
function decodeV4(field: string): Listener {
  const [hex = '', portHex = ''] = field.split(':');
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).reverse();
  return { host: bytes.join('.'), port: Number.parseInt(portHex, 16) };
}

/** Every TCP (IPv4 and IPv6) socket `pid` has open in LISTEN state, sorted by port. */
export async function listeningSockets(pid: number): Promise<Listener[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1]) inodes.add(m[1]);
  }
  const out: Listener[] = [];
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl local rem st tx:rx tr:when retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9] ?? '')) continue;
      const local = cols[1] ?? '';
      out.push(
        table === 'tcp'
          ? decodeV4(local)
          : { host: 'ipv6', port: Number.parseInt(local.split(':')[1] ?? '', 16) },
      );
    }
  }
  return out.sort((a, b) => a.port - b.port);
}
