/**
 * A Writable over an open FileHandle that leaves the handle open, so the caller can fsync before
 * closing. (fs write streams with autoClose:false never emit 'close', which stalls pipeline().)
 */
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export function fileSink(fh: FileHandle, start = 0): Writable {
  let position = start;
  return new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _enc, cb) {
      const at = position;
      position += chunk.length;
      fh.write(chunk, 0, chunk.length, at).then(() => cb(), cb);
    },
    writev(chunks, cb) {
      const bufs = chunks.map((c) => c.chunk as Buffer);
      const at = position;
      for (const b of bufs) position += b.length;
      fh.writev(bufs, at).then(() => cb(), cb);
    },
  });
}
