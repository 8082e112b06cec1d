/**
 * Native-protocol calls made byte by byte (no client library in between), for the run scripts'
 * health checks: upload, download and delete straight on a storage, a tracker query.
 */
import { connect } from 'node:net';

export interface Addr {
  readonly host: string;
  readonly port: number;
}

export interface Reply {
  readonly status: number;
  readonly body: Buffer;
}

function header(length: number, cmd: number): Buffer {
  const b = Buffer.alloc(10);
  b.writeBigInt64BE(BigInt(length), 0);
  b[8] = cmd;
  return b;
}

export function fixedField(s: string, width: number): Buffer {
  const b = Buffer.alloc(width);
  b.write(s, 0, 'utf8');
  return b;
}

export function int64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

/** One request on a fresh connection; rejects on a closed connection or after `timeoutMs`. */
export function call(addr: Addr, cmd: number, body: Buffer, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = connect(addr);
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`cmd ${cmd} to ${addr.host}:${addr.port}: no reply in ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`cmd ${cmd} to ${addr.host}:${addr.port}: connection closed after ${got} bytes`));
    });
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      const all = Buffer.concat(chunks);
      if (all.length < 10) return;
      const len = Number(all.readBigInt64BE(0));
      if (all.length < 10 + len) return;
      clearTimeout(timer);
      s.removeAllListeners('close');
      s.end();
      resolve({ status: all[9] ?? 0, body: all.subarray(10, 10 + len) });
    });
    s.write(Buffer.concat([header(body.length, cmd), body]));
  });
}

async function ok(addr: Addr, cmd: number, body: Buffer, what: string): Promise<Buffer> {
  const r = await call(addr, cmd, body);
  if (r.status !== 0) throw new Error(`${what} at ${addr.host}:${addr.port}: status ${r.status}`);
  return r.body;
}

/** Upload (11) straight to a storage; returns `group/remote`. */
export async function upload(storage: Addr, content: Buffer, ext = 'bin', appender = false): Promise<string> {
  const body = Buffer.concat([Buffer.from([0xff]), int64(content.length), fixedField(ext, 6), content]);
  const r = await ok(storage, appender ? 23 : 11, body, 'upload');
  return `${r.toString('utf8', 0, 16).replace(/\0+$/, '')}/${r.toString('utf8', 16)}`;
}

function split(fileId: string): [string, string] {
  const i = fileId.indexOf('/');
  return [fileId.slice(0, i), fileId.slice(i + 1)];
}

export async function download(storage: Addr, fileId: string): Promise<Buffer> {
  const [g, remote] = split(fileId);
  return ok(
    storage,
    14,
    Buffer.concat([int64(0), int64(0), fixedField(g, 16), Buffer.from(remote)]),
    'download',
  );
}

/** Delete (12); true when it was there. */
export async function remove(storage: Addr, fileId: string): Promise<boolean> {
  const [g, remote] = split(fileId);
  const r = await call(storage, 12, Buffer.concat([fixedField(g, 16), Buffer.from(remote)]));
  if (r.status !== 0 && r.status !== 2) throw new Error(`delete ${fileId}: status ${r.status}`);
  return r.status === 0;
}

/** QUERY_STORE_WITHOUT_GROUP_ONE (101): the tracker answers (any status) in time. */
export async function trackerAnswers(tracker: Addr): Promise<number> {
  return (await call(tracker, 101, Buffer.alloc(0))).status;
}
