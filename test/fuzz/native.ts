/**
 * Native-protocol cases: a connection gets 1–6 packets (mutated or not, sometimes reordered),
 * written in one go or cut at random points (pipelining and slow senders), then the write side
 * is closed; the case ends when the server closes or has answered every packet.
 */
import { connect } from 'node:net';
import { Cmd, encodeServerId } from '../../src/protocol/index.js';
import type { Rng } from '../harness/rng.js';
import type { Addr } from '../harness/wire.js';
import { mutate, type Wire } from './mutate.js';
import { type Packet, type SeedContext, storageSeed, type Target, trackerSeed } from './native-seeds.js';

export interface CaseResult {
  readonly packets: number;
  /** The server kept the connection open long after its write side was closed. */
  readonly hung: boolean;
  /** File ids (group/remote) the server answered to an upload in this case. */
  readonly uploaded: string[];
  readonly how: string;
}

const UPLOAD_CMDS = new Set<number>([Cmd.UPLOAD_FILE, Cmd.UPLOAD_APPENDER_FILE, Cmd.UPLOAD_SLAVE_FILE]);

function packetsFor(rng: Rng, target: Target, ctx: SeedContext): Packet[] {
  const seed = target === 'tracker' ? trackerSeed : storageSeed;
  const out: Packet[] = [];
  // Sync commands need REPORT_SERVER_ID first; beats need a join: start like a peer would.
  if (target === 'storage' && rng.chance(0.3))
    out.push({ cmd: Cmd.REPORT_SERVER_ID, body: encodeServerId('127.0.0.9') });
  if (target === 'tracker' && rng.chance(0.3)) {
    let join: Packet;
    do join = trackerSeed(rng, ctx);
    while (join.cmd !== Cmd.STORAGE_JOIN);
    out.push(join);
  }
  const n = rng.int(1, 6 - out.length);
  for (let i = 0; i < n; i++) out.push(seed(rng, ctx));
  return out;
}

/** Parses reply frames as they come, to see upload answers and when every packet was answered. */
function replies(buf: Buffer): { frames: { status: number; body: Buffer }[]; rest: Buffer } {
  const frames: { status: number; body: Buffer }[] = [];
  let at = 0;
  while (buf.length - at >= 10) {
    const len = buf.readBigInt64BE(at);
    if (len < 0n || len > 1n << 30n) break;
    const end = at + 10 + Number(len);
    if (buf.length < end) break;
    frames.push({ status: buf[at + 9] ?? 0, body: buf.subarray(at + 10, end) });
    at = end;
  }
  return { frames, rest: buf.subarray(at) };
}

export function runCase(
  rng: Rng,
  addr: Addr,
  target: Target,
  ctx: SeedContext,
  rate: number,
  hangMs: number,
): Promise<CaseResult> {
  const packets = packetsFor(rng, target, ctx);
  let wires: Wire[] = packets.map((p) => mutate(rng, p, rate));
  if (wires.length > 1 && rng.chance(0.2)) wires = rng.shuffle(wires);
  const data = Buffer.concat(wires.map((w) => w.bytes));
  const cuts: number[] = [];
  if (rng.chance(0.3))
    for (let i = rng.int(1, 4); i > 0; i--) cuts.push(rng.int(1, Math.max(1, data.length - 1)));
  cuts.sort((a, b) => a - b);
  const how = `${target}: ${wires.map((w) => w.how).join(' | ')}${cuts.length ? ` cuts ${cuts.join(',')}` : ''}`;
  const sentCmds = packets.map((p) => p.cmd);
  return new Promise((resolve) => {
    const s = connect(addr);
    let buf = Buffer.alloc(0);
    let answered = 0;
    const uploaded: string[] = [];
    let done = false;
    const finish = (hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ packets: packets.length, hung, uploaded, how });
    };
    const timer = setTimeout(() => finish(true), hangMs);
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
    s.on('data', (c: Buffer) => {
      const r = replies(Buffer.concat([buf, c]));
      buf = Buffer.from(r.rest);
      for (const f of r.frames) {
        const cmd = sentCmds[answered];
        answered++;
        if (f.status === 0 && cmd !== undefined && UPLOAD_CMDS.has(cmd) && f.body.length > 16) {
          const id = `${f.body.toString('utf8', 0, 16).replace(/\0+$/, '')}/${f.body.toString('utf8', 16)}`;
          if (/^[\w.-]+\/M[0-9A-F]{2}\//.test(id)) uploaded.push(id);
        }
      }
      if (answered >= packets.length) finish(false);
    });
    s.on('connect', async () => {
      let from = 0;
      for (const cut of cuts) {
        if (cut <= from) continue;
        s.write(data.subarray(from, cut));
        from = cut;
        await new Promise((r) => setTimeout(r, rng.int(0, 3)));
        if (done) return;
      }
      s.write(data.subarray(from));
      s.end();
    });
  });
}
