/**
 * The sendfile addon (src/native): built wherever a C compiler and Node's headers are, the bytes
 * it sends are the file's, and a client that stalls, goes away or whose socket Node destroys
 * mid-transfer ends the transfer cleanly, never touching a descriptor that was reused meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { open, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendFile, socketFd } from '../src/native/index.js';
import { canBuildAddon } from './helpers/native.js';
import { eventually, tempDir } from './helpers/node-process.js';

const { errno } = constants;
const MB = 1024 * 1024;

it.skipIf(!canBuildAddon())(
  'is built by npm run build on a machine with a C compiler and Node headers',
  () => {
    expect(typeof sendFile).toBe('function');
  },
);

describe.skipIf(!sendFile)('sendFile', () => {
  const send = sendFile as NonNullable<typeof sendFile>;
  let dir: string;
  let path: string;
  let data: Buffer;
  let server: Server;
  const accepted: Socket[] = [];

  beforeAll(async () => {
    dir = await tempDir('fdfs-sendfile-');
    path = join(dir, 'file.bin');
    data = randomBytes(24 * MB);
    await writeFile(path, data);
    server = createServer((s) => {
      s.on('error', () => {}); // the resets these tests cause
      accepted.push(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    for (const s of accepted) s.destroy();
    await new Promise((r) => server.close(r));
  });

  /** A connected pair: `ours` is the server's side (what sendFile writes to), `peer` the client. */
  async function pair(): Promise<{ ours: Socket; peer: Socket }> {
    const before = accepted.length;
    const address = server.address() as { port: number };
    const peer = connect(address.port, '127.0.0.1');
    peer.on('error', () => {});
    await new Promise((r) => peer.once('connect', r));
    await eventually(async () => expect(accepted.length).toBe(before + 1));
    return { ours: accepted[before] as Socket, peer };
  }

  function collect(peer: Socket): () => Buffer {
    const chunks: Buffer[] = [];
    peer.on('data', (c: Buffer) => chunks.push(c));
    return () => Buffer.concat(chunks);
  }

  /**
   * A connected pair and the test file open for reading; `paused`: the client reads nothing yet.
   * Closes the file and the client afterwards, whatever `run` did.
   */
  async function withTransfer(
    paused: boolean,
    run: (t: { ours: Socket; peer: Socket; sock: number; file: number }) => Promise<void>,
  ): Promise<void> {
    const { ours, peer } = await pair();
    if (paused) peer.pause();
    const fh = await open(path, 'r');
    try {
      await run({ ours, peer, sock: socketFd(ours) as number, file: fh.fd });
    } finally {
      await fh.close();
      peer.destroy();
    }
  }

  it('sends exactly the range asked for, past many socket buffers', async () => {
    await withTransfer(false, async ({ peer, sock, file }) => {
      const got = collect(peer);
      const from = 12_345;
      const count = 20 * MB + 7;
      const r = await send(sock, file, from, count, 5_000, new Int32Array(1));
      expect(r).toEqual({ sent: count, errno: 0 });
      await eventually(async () => expect(got().length).toBe(count));
      expect(got().equals(data.subarray(from, from + count))).toBe(true);
    });
  });

  it('ends with ETIMEDOUT when the client takes nothing for stallMs', async () => {
    await withTransfer(true, async ({ sock, file }) => {
      const r = await send(sock, file, 0, data.length, 300, new Int32Array(1));
      expect(r.errno).toBe(errno.ETIMEDOUT);
      expect(r.sent).toBeGreaterThan(0);
      expect(r.sent).toBeLessThan(data.length);
    });
  });

  it('ends with EPIPE or ECONNRESET when the client goes away mid-transfer', async () => {
    await withTransfer(true, async ({ peer, sock, file }) => {
      const pending = send(sock, file, 0, data.length, 10_000, new Int32Array(1));
      setTimeout(() => peer.resetAndDestroy(), 100);
      const r = await pending;
      expect([errno.EPIPE, errno.ECONNRESET]).toContain(r.errno);
      expect(r.sent).toBeLessThan(data.length);
    });
  });

  it('never writes to a descriptor reused after Node destroyed the socket mid-transfer', async () => {
    await withTransfer(true, async ({ ours, peer, sock, file }) => {
      const victim = join(dir, 'victim');
      const pending = send(sock, file, 0, data.length, 10_000, new Int32Array(1));
      await new Promise((r) => setTimeout(r, 100));
      ours.destroy();
      await new Promise((r) => ours.once('close', r));
      // Likely the same descriptor number the socket had: the transfer must not land here.
      const other = await open(victim, 'w');
      const got = collect(peer);
      peer.resume();
      const r = await pending;
      await other.close();
      expect(r).toEqual({ sent: data.length, errno: 0 });
      await eventually(async () => expect(got().length).toBe(data.length));
      expect(got().equals(data)).toBe(true);
      expect((await stat(victim)).size).toBe(0);
    });
  });

  it('ends with ECANCELED soon after the cancel flag is set, with a long stall limit', async () => {
    await withTransfer(true, async ({ sock, file }) => {
      const cancel = new Int32Array(1);
      const pending = send(sock, file, 0, data.length, 600_000, cancel);
      setTimeout(() => {
        cancel[0] = 1;
      }, 100);
      const r = await pending; // the test's own timeout is far below the 10-minute stall limit
      expect(r.errno).toBe(errno.ECANCELED);
      expect(r.sent).toBeLessThan(data.length);
    });
  });

  it('says EIO with what it sent when the file ends before the count', async () => {
    await withTransfer(false, async ({ peer, sock, file }) => {
      const got = collect(peer);
      const from = data.length - 1000;
      const r = await send(sock, file, from, 5000, 5_000, new Int32Array(1));
      expect(r).toEqual({ sent: 1000, errno: errno.EIO });
      await eventually(async () => expect(got().equals(data.subarray(from))).toBe(true));
    });
  });

  it('refuses bad arguments with a TypeError and no transfer', () => {
    const flag = new Int32Array(1);
    expect(() => send(-1, 0, 0, 1, 1000, flag)).toThrow(TypeError);
    expect(() => send(0, 0, -1, 1, 1000, flag)).toThrow(TypeError);
    expect(() => send(0, 0, 0, 1, 0, flag)).toThrow(TypeError);
    const loose = send as unknown as (...a: unknown[]) => unknown;
    expect(() => loose('x', 0, 0, 1, 1000, flag)).toThrow(TypeError);
    expect(() => loose(0, 0, 0, 1, 1000)).toThrow(TypeError);
    expect(() => loose(0, 0, 0, 1, 1000, new Uint8Array(4))).toThrow(TypeError);
  });
});
