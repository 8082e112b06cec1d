/**
 * HTTP GETs of local files too big for the gateway's cache go out by sendfile when the native
 * addon is built, and by the read stream otherwise: either way the bytes are the file's, whole,
 * in a single range (also inside a trunk file, at the slot's offset) and in several ranges; a
 * client gone mid-body leaves the gateway serving, and the storage counts each download once.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { socketFd } from '../src/native/index.js';
import { NATIVE_PATHS, nodeForTests } from './helpers/native-paths.js';
import { eventually, type RunningNode, tempDir } from './helpers/node-process.js';
import { removeFolder } from './helpers/removal.js';

const MB = 1024 * 1024;

function get(
  node: RunningNode,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: node.http.host, port: node.http.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

it('never offers the descriptor of a connected TLS socket (bytes written past Node would skip encryption)', async () => {
  // A throwaway self-signed certificate from Debian's openssl, for one loopback TLS connection.
  const dir = await tempDir('fdfs-tls-');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost'].concat([
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  const server = createTlsServer({ key: await readFile(key), cert: await readFile(cert) });
  const accepted = new Promise<TLSSocket>((r) => server.once('secureConnection', r));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  try {
    const ours = await accepted;
    // Underneath, the connection has a real descriptor: only the TLS check keeps it back.
    const raw = (ours as unknown as { _handle?: { fd?: number } })._handle?.fd;
    expect(raw).toBeGreaterThanOrEqual(0);
    expect(socketFd(ours)).toBeUndefined();
  } finally {
    client.destroy();
    await new Promise((r) => server.close(r));
    await removeFolder(dir);
  }
});

describe.each(NATIVE_PATHS)('$path', ({ env }) => {
  const run = nodeForTests({
    env,
    args: [
      '--set',
      'use_trunk_file=true',
      '--set',
      'slot_max_size=1MB',
      '--set',
      'http.cache.max_file_size=0',
      // Counters reach the tracker, where the status API reads them, every second.
      '--set',
      'heart_beat_interval=1',
    ],
  });

  /** The storage's download counters as the gateway's status API shows them. */
  async function downloads(): Promise<{ total: number; ok: number }> {
    const res = await fetch(`http://${run.node.http.host}:${run.node.http.port}/api/cluster`);
    const view = (await res.json()) as { groups: { storages: { counters: Record<string, number> }[] }[] };
    const c = view.groups[0]?.storages[0]?.counters ?? {};
    return { total: c.totalDownloadCount ?? 0, ok: c.successDownloadCount ?? 0 };
  }

  // First: no download before it, so the counters' baseline is settled at zero downloads.
  it('counts each download once, and serves on after a client leaves mid-body', async () => {
    const data = randomBytes(16 * MB);
    const id = await run.client.upload(data, { ext: 'bin' });
    const before = await downloads();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: run.node.http.host, port: run.node.http.port, path: `/${id}` }, (res) => {
        res.once('data', () => {
          req.destroy(); // gone after the first bytes
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.end();
      setTimeout(() => reject(new Error('no body')), 20_000).unref();
    });
    expect((await get(run.node, `/${id}`)).body.equals(data)).toBe(true);
    // One attempt that failed and one that succeeded, each counted once.
    await eventually(async () => {
      const now = await downloads();
      expect({ total: now.total - before.total, ok: now.ok - before.ok }).toEqual({ total: 2, ok: 1 });
    }, 10_000);
  }, 60_000);

  it('sends a large file whole, in one range and in several, byte for byte', async () => {
    const data = randomBytes(5 * MB + 321);
    const id = await run.client.upload(data, { ext: 'bin' });
    const whole = await get(run.node, `/${id}`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(data)).toBe(true);
    const part = await get(run.node, `/${id}`, { Range: 'bytes=1000000-3999999' });
    expect(part.status).toBe(206);
    expect(part.body.equals(data.subarray(1_000_000, 4_000_000))).toBe(true);
    const tail = await get(run.node, `/${id}`, { Range: 'bytes=-70000' });
    expect(tail.body.equals(data.subarray(data.length - 70_000))).toBe(true);
    const multi = await get(run.node, `/${id}`, { Range: 'bytes=0-99999,200000-299999' });
    expect(multi.status).toBe(206);
    expect(multi.body.includes(data.subarray(0, 100_000))).toBe(true);
    expect(multi.body.includes(data.subarray(200_000, 300_000))).toBe(true);
  }, 60_000);

  it('sends a file packed in a trunk file from its slot, whole and in a range', async () => {
    const data = randomBytes(700_000);
    const id = await run.client.upload(data, { ext: 'bin' });
    expect(decodeRemoteFilename(id.slice('group1/'.length)).type).toBe('trunk');
    expect((await get(run.node, `/${id}`)).body.equals(data)).toBe(true);
    const part = await get(run.node, `/${id}`, { Range: 'bytes=100000-399999' });
    expect(part.body.equals(data.subarray(100_000, 400_000))).toBe(true);
  }, 60_000);
});
