/** A scripted raw-TCP peer: sends exactly the bytes an edge case needs and reports what came back. */
import { connect, createServer, type Socket } from 'node:net';

export interface RawReply {
  /** The bytes received before the server closed or `waitMs` passed. */
  readonly data: Buffer;
  readonly closed: boolean;
}

export function header(length: bigint | number, cmd: number, status = 0): Buffer {
  const b = Buffer.alloc(10);
  b.writeBigInt64BE(BigInt(length), 0);
  b[8] = cmd;
  b[9] = status;
  return b;
}

export function fixed(s: string, width: number): Buffer {
  const b = Buffer.alloc(width);
  b.write(s, 0, 'utf8');
  return b;
}

export function int64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

export function openRaw(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * Writes `bytes` (optionally ending the write side) and collects the reply until the server
 * closes, `want` bytes have arrived, or `waitMs` passes.
 */
export async function exchange(
  host: string,
  port: number,
  bytes: Buffer,
  opts: { want?: number; waitMs?: number; endWrite?: boolean } = {},
): Promise<RawReply> {
  const s = await openRaw(host, port);
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    let got = 0;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 2000);
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (opts.want !== undefined && got >= opts.want) finish(false);
    });
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.write(bytes);
    if (opts.endWrite) s.end();
  });
}

/**
 * An address nothing listens on, for "tracker down" cases. The port is one the OS just gave us
 * and took back; the host is 127.0.0.254, where no test binds, so the OS handing that port number
 * to the next server on 127.0.0.1 (it does, right away) cannot make the "dead" address answer.
 */
export async function deadAddress(): Promise<{ host: string; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.254', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return { host: '127.0.0.254', port };
}
