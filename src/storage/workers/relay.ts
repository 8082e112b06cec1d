/**
 * A worker's link to its storage for one client connection: requests the worker does not serve
 * itself go over it unchanged (header, then the body as it arrives) and the answer comes back
 * the same way. Opened on first use with a hello naming the client, so the storage applies its
 * per-peer rules (sync peers, logs) to the client, not to the worker.
 */
import { connect, type Socket } from 'node:net';
import { FdfsError, Status } from '../../common/index.js';
import {
  encodeHeader,
  encodePacket,
  FrameReader,
  type Header,
  type PacketContext,
  streamToSocket,
} from '../../protocol/index.js';
import { RELAY_HELLO, type RelayAddress } from './messages.js';

export type RelayTarget = RelayAddress & { readonly token: string };

export class Relay {
  private link: { socket: Socket; reader: FrameReader } | undefined;

  constructor(
    private readonly target: RelayTarget,
    private readonly client: { readonly address: string; readonly port: number },
  ) {}

  private async open(): Promise<{ socket: Socket; reader: FrameReader }> {
    if (this.link && !this.link.socket.destroyed) return this.link;
    const t = this.target;
    const socket = 'path' in t ? connect({ path: t.path }) : connect({ host: t.host, port: t.port });
    if (!('path' in t)) socket.setNoDelay(true);
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const hello = Buffer.from(`${this.target.token}\0${this.client.address}\0${this.client.port}`, 'utf8');
    socket.write(encodePacket(RELAY_HELLO, hello));
    this.link = { socket, reader: new FrameReader(socket, 'storage relay') };
    return this.link;
  }

  /**
   * Passes one request through. When the storage ends the relay connection (a refused request it
   * could not read to its end), the client's connection is ended too, after the answer.
   */
  async forward(h: Header, ctx: PacketContext): Promise<void> {
    const { socket, reader } = await this.open();
    socket.write(encodeHeader(h.length, h.cmd, h.status));
    // The answer may come before the whole body has gone: a refusal (a length over a cap) that
    // will not read the rest. Then the body is left, and the client's connection closes after.
    const answer = reader.readHeader().catch(() => null);
    const body = streamToSocket(ctx.reader.take(h.length), socket).then(
      () => true,
      () => false,
    );
    const first = await Promise.race([body, answer.then(() => 'answer' as const)]);
    const sent =
      first === true || (first === 'answer' && (await Promise.race([body, Promise.resolve(false)])));
    const r = await answer;
    if (!r) {
      ctx.socket.destroy();
      throw new FdfsError(Status.ECONNRESET, 'the storage closed the relay without an answer');
    }
    ctx.socket.write(encodeHeader(r.length, r.cmd, r.status));
    await streamToSocket(reader.take(r.length), ctx.socket);
    // After an error the storage may close (EINVAL always, as FastDFS; any error it answered
    // before the body's end). Its FIN follows the answer at once: wait a moment for it.
    const closes = !sent || r.status === Status.EINVAL || (r.status !== 0 && (await this.ends(socket, 100)));
    if (closes || socket.destroyed || socket.readableEnded) {
      this.close();
      ctx.socket.destroySoon();
    }
  }

  private ends(socket: Socket, ms: number): Promise<boolean> {
    if (socket.readableEnded || socket.destroyed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        resolve(v);
      };
      const onEnd = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
    });
  }

  close(): void {
    this.link?.socket.destroy();
    this.link = undefined;
  }
}
