/**
 * A client that asks for a large file and stops reading mid-way: the storage drops it after
 * network_timeout and serves on (both ways a large download's rest can go), and a storage closed
 * meanwhile ends it (sendfile in the native addon holds its own copy of the descriptor, so
 * closing the socket's descriptor alone would not end the connection).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FdfsClient, resolveSource, StorageClient } from '../src/client/index.js';
import { createLogger } from '../src/common/index.js';
import { defaultClientConfig, defaultStorageConfig } from '../src/config/index.js';
import { Cmd, encodeDownload } from '../src/protocol/index.js';
import { startStorage } from '../src/storage/index.js';
import { NATIVE_PATHS } from './helpers/native-paths.js';
import { eventually, type RunningNode, readyClient, startNode, tempDir } from './helpers/node-process.js';
import { header, openRaw } from './helpers/raw-peer.js';
import { removeFolder } from './helpers/removal.js';

const MB = 1024 * 1024;

/** Asks for the whole of `id` and reads nothing. */
async function stalledDownload(at: { host: string; port: number }, id: string): Promise<Socket> {
  const body = encodeDownload({ offset: 0, length: 0, group: 'group1', remote: id.slice('group1/'.length) });
  const sock = await openRaw(at.host, at.port);
  sock.on('error', () => {});
  sock.pause();
  sock.write(Buffer.concat([header(body.length, Cmd.DOWNLOAD_FILE), body]));
  return sock;
}

/**
 * Reads what is left and resolves with the byte count once the connection ends. A paused socket
 * never sees the other side close, so this is only called once the storage is known to be done.
 */
function drainToEnd(s: Socket): Promise<number> {
  let n = 0;
  s.on('data', (c: Buffer) => {
    n += c.length;
  });
  const done = new Promise<number>((r) => s.once('close', () => r(n)));
  s.resume();
  return done;
}

describe.each(NATIVE_PATHS)('$path', ({ env }) => {
  async function withNode(args: string[], run: (node: RunningNode, client: FdfsClient) => Promise<void>) {
    const node = await startNode({ env, args: ['--set', 'cache_max_file_size=0', ...args] });
    const client = await readyClient(node);
    try {
      await run(node, client);
    } finally {
      await client.close();
      expect(await node.stop()).toBe(0);
    }
  }

  it('drops a client that stops reading after network_timeout, and serves on', async () => {
    await withNode(['--set', 'network_timeout=2'], async (node, client) => {
      const data = randomBytes(32 * MB); // far more than the socket buffers hold
      const id = await client.upload(data, { ext: 'bin' });
      const sock = await stalledDownload(node.storage, id);
      const port = String(sock.localPort);
      const dropped = () => node.stderr.some((l) => l.includes('connection dropped') && l.includes(port));
      await eventually(async () => expect(dropped()).toBe(true), 30_000);
      expect(await drainToEnd(sock)).toBeLessThan(10 + data.length);
      expect((await client.downloadBuffer(id)).equals(data)).toBe(true);
    });
  }, 60_000);
});

// In process, as a Node app embedding a storage runs it: no exit closes the addon's copy of the
// descriptor, so closing the storage must end a transfer blocked on its client by itself (its
// shutdown of each connection does; download.ts also cancels on a socket destroyed outright).
it('a storage closed in process ends a stalled download at once (network_timeout 10 minutes)', async () => {
  const base = await tempDir('fdfs-stall-');
  const { config } = defaultStorageConfig(
    new Map([
      ['base_path', [base]],
      ['bind_addr', ['127.0.0.1']],
      ['port', ['0']],
      ['tracker_server', ['127.0.0.254:1']],
      ['network_timeout', ['600']],
      ['cache_max_file_size', ['0']],
      ['subdir_count_per_path', ['4']],
    ]),
  );
  const storage = await startStorage(config, { logger: createLogger({ level: 'error' }) });
  const client = new FdfsClient(defaultClientConfig(new Map([['tracker_server', ['127.0.0.254:1']]])).config);
  let sock: Socket | undefined;
  try {
    const addr = { host: '127.0.0.1', port: storage.address.port };
    const stored = await client.pool.use(addr, async (conn) =>
      new StorageClient(conn).upload({
        storePathIndex: 0,
        ext: 'bin',
        content: await resolveSource(randomBytes(32 * MB)),
        appender: false,
      }),
    );
    sock = await stalledDownload(addr, `${stored.group}/${stored.remote}`);
    await new Promise((r) => setTimeout(r, 500)); // the transfer is under way and blocked
  } finally {
    await client.close();
    await storage.close();
  }
  expect(await drainToEnd(sock)).toBeLessThan(10 + 32 * MB);
  await removeFolder(base);
}, 60_000);
