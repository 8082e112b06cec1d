/**
 * Replays a recording's requests to one recorded daemon against ours, with a scripted raw-TCP
 * peer per recorded connection (bound to the address the recorded client had), in the recorded
 * order across connections, and pairs each of our answers with the stock daemon's.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { encodePacket, FrameReader } from '../../src/protocol/index.js';
import type { RecordedConnection, RecordedPacket, Recording } from './recording.js';

export interface Answer {
  readonly status: number;
  readonly body: Buffer;
}

export interface Exchange {
  readonly conn: RecordedConnection;
  readonly cmd: number;
  /** When the recorded request was sent and answered (ms into the recording). */
  readonly sent: number;
  readonly answered: number | undefined;
  /** The request as sent to ours (after rewriting). */
  readonly request: Buffer;
  /** The stock daemon's answer; undefined for QUIT or a connection that closed unanswered. */
  readonly expected: (Answer & { readonly cut: boolean }) | undefined;
  /** Ours; undefined when ours closed the connection instead. */
  readonly actual: Answer | undefined;
}

const QUIT = 82;

class RawLink {
  private readonly reader: FrameReader;

  private constructor(private readonly socket: Socket) {
    this.reader = new FrameReader(socket);
  }

  static open(host: string, port: number, localAddress: string): Promise<RawLink> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, localAddress });
      s.once('connect', () => {
        s.removeAllListeners('error');
        s.on('error', () => {});
        resolve(new RawLink(s));
      });
      s.once('error', reject);
    });
  }

  /** Sends a request; reads one answer unless none is expected (QUIT). */
  async exchange(cmd: number, body: Buffer, wantAnswer: boolean): Promise<Answer | undefined> {
    if (this.socket.destroyed) return undefined;
    this.socket.write(encodePacket(cmd, body));
    if (!wantAnswer) return undefined;
    const timer = setTimeout(() => this.socket.destroy(), 10_000);
    try {
      const h = await this.reader.readHeader();
      if (!h) return undefined;
      return { status: h.status, body: await this.reader.readExact(h.length) };
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  /** Ends the connection and waits until the server closed its side too (it has seen the end). */
  async end(): Promise<void> {
    if (this.socket.destroyed) return;
    const closed = once(this.socket, 'close').catch(() => {});
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    await closed;
    clearTimeout(timer);
  }
}

export interface ReplayOptions {
  /** The recorded daemon ours plays, by node name. */
  readonly server: string;
  readonly target: { readonly host: string; readonly port: number };
  /** Which of the connections to that daemon to replay (default all). */
  readonly include?: (c: RecordedConnection) => boolean;
  /** The address a recorded client's connection comes from here. */
  readonly from: (c: RecordedConnection) => string;
  /** Rewrites a request body (addresses and ports of the test world). */
  readonly rewrite?: (cmd: number, body: Buffer, c: RecordedConnection) => Buffer;
  /** Called before each request is sent (to wait for a state the recording had by then). */
  readonly before?: (cmd: number, c: RecordedConnection, t: number) => Promise<void>;
}

type Step =
  | {
      readonly t: number;
      readonly kind: 'req';
      readonly conn: RecordedConnection;
      readonly req: RecordedPacket;
      readonly resp: RecordedPacket | undefined;
    }
  | { readonly t: number; readonly kind: 'close'; readonly conn: RecordedConnection };

function steps(rec: Recording, opts: ReplayOptions): Step[] {
  const out: Step[] = [];
  for (const conn of rec.connections) {
    if (conn.server !== opts.server || !(opts.include?.(conn) ?? true)) continue;
    const ps = conn.packets;
    let last = conn.opened;
    for (let i = 0; i < ps.length; i++) {
      const req = ps[i] as RecordedPacket;
      if (req.dir !== 'req') continue;
      const next = ps[i + 1];
      const resp = req.cmd !== QUIT && next?.dir === 'resp' ? next : undefined;
      // Ordered by the answer: a stock daemon may take long over a request (a tracker loading
      // the cluster from a peer during a join) while it answers others.
      out.push({ t: resp?.t ?? req.t, kind: 'req', conn, req, resp });
      last = resp?.t ?? req.t;
    }
    out.push({ t: conn.closed ?? last, kind: 'close', conn });
  }
  // Stable: a connection's own steps keep their order when times tie.
  return out
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.t - b.s.t || a.i - b.i)
    .map((x) => x.s);
}

export async function replay(rec: Recording, opts: ReplayOptions): Promise<Exchange[]> {
  const links = new Map<number, RawLink>();
  const out: Exchange[] = [];
  try {
    for (const step of steps(rec, opts)) {
      if (step.kind === 'close') {
        await links.get(step.conn.id)?.end();
        links.delete(step.conn.id);
        continue;
      }
      await opts.before?.(step.req.cmd, step.conn, step.t);
      let link = links.get(step.conn.id);
      if (!link) {
        link = await RawLink.open(opts.target.host, opts.target.port, opts.from(step.conn));
        links.set(step.conn.id, link);
      }
      const raw = Buffer.from(step.req.body, 'hex');
      const body = opts.rewrite ? opts.rewrite(step.req.cmd, raw, step.conn) : raw;
      const actual = await link.exchange(step.req.cmd, body, step.req.cmd !== QUIT);
      out.push({
        conn: step.conn,
        cmd: step.req.cmd,
        sent: step.req.t,
        answered: step.resp?.t,
        request: body,
        expected: step.resp
          ? {
              status: step.resp.status,
              body: Buffer.from(step.resp.body, 'hex'),
              cut: step.resp.cut === true,
            }
          : undefined,
        actual,
      });
    }
  } finally {
    for (const l of links.values()) l.close();
  }
  return out;
}

/** Replaces every occurrence of `from` by `to` in a buffer (addresses in text bodies). */
export function replaceAll(buf: Buffer, from: string, to: string): Buffer {
  const needle = Buffer.from(from, 'latin1');
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = buf.indexOf(needle); i >= 0; i = buf.indexOf(needle, at)) {
    parts.push(buf.subarray(at, i), Buffer.from(to, 'latin1'));
    at = i + needle.length;
  }
  parts.push(buf.subarray(at));
  return Buffer.concat(parts);
}
