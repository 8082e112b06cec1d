/**
 * The whole lines of the binlog's last bytes, oldest first, across its files: what start reads
 * to rebuild state the binlog's recent records imply (tombstones, trunk slots taken).
 */
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** `binlog.NNN`, as FastDFS names them. */
export function binlogFileName(index: number): string {
  return `binlog.${index.toString().padStart(3, '0')}`;
}

/**
 * Calls `each` for every whole line in the last `bytes` of the binlog (files `currentIndex` and
 * older), with how many bytes of the tail follow the line. The first line read when starting in
 * the middle of a file is a fragment and is skipped.
 */
export async function forEachTailLine(
  dir: string,
  currentIndex: number,
  bytes: number,
  each: (line: string, bytesAfter: number) => void,
): Promise<void> {
  const parts: { path: string; from: number; size: number }[] = [];
  let left = bytes;
  for (let i = currentIndex; i >= 0 && left > 0; i--) {
    const path = join(dir, binlogFileName(i));
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    const take = Math.min(size, left);
    parts.unshift({ path, from: size - take, size });
    left -= take;
  }
  const total = parts.reduce((n, p) => n + p.size - p.from, 0);
  let seen = 0;
  for (const p of parts) {
    if (p.size === p.from) continue;
    const fh = await open(p.path, 'r');
    let text: string;
    try {
      const buf = Buffer.allocUnsafe(p.size - p.from);
      const { bytesRead } = await fh.read(buf, 0, buf.length, p.from);
      text = buf.toString('utf8', 0, bytesRead);
    } finally {
      await fh.close();
    }
    const lines = text.split('\n');
    if (p.from > 0) seen += Buffer.byteLength(lines.shift() ?? '') + 1;
    for (const line of lines) {
      seen += Buffer.byteLength(line) + 1;
      each(line, total - seen);
    }
  }
}
