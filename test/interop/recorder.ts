/**
 * Records what FastDFS daemons say to each other: a TCP proxy in front of every daemon that logs
 * each packet (direction, cmd, status, body) to a JSON file. Tooling for the interop recordings
 * under test/data/interop (issue 12), not product code.
 *
 *   node dist/test/interop/recorder.js --out rec.json \
 *     --node tracker1=127.0.0.180:22122@127.0.0.170 --node storage1=127.0.0.181:23000@127.0.0.171 \
 *     [--who /lab/t1/=tracker1 ...] [--note text]
 *
 * Each node is `name=face:port@real`: the proxy listens on face:port and forwards to real:port.
 * Daemons are configured with each other's faces, so every connection passes a proxy. The
 * upstream connection is bound to the face of the daemon that opened it, so the peer sees the
 * address it knows that daemon by: a daemon is recognised by its real address, or, for daemons
 * that do not bind their outgoing connections (a stock tracker's come from 127.0.0.1), by the
 * process owning the socket, whose command line contains a `--who` substring.
 * SIGINT or SIGTERM writes the file and exits; it is also rewritten every 2 s.
 */
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedConnection, RecordedPacket, Recording } from './recording.js';

interface NodeSpec {
  readonly name: string;
  readonly face: string;
  readonly port: number;
  readonly real: string;
}

/** File bodies are kept whole up to this size; test files are a few KB. */
const MAX_BODY = 64 * 1024;

/**
 * Beats (83), disk and sync reports (84, 89), change-log requests (77), pings (65) and active
 * tests (111) repeat all run long: the first ROUTINE_KEPT of each per connection are kept with
 * their answers; of the rest, those with a plain answer are only counted.
 */
const ROUTINE: ReadonlySet<number> = new Set([83, 84, 89, 77, 65, 111]);
const ROUTINE_KEPT = 8;

function parseArgs(argv: readonly string[]) {
  const nodes: NodeSpec[] = [];
  const who: { match: string; name: string }[] = [];
  let out = '';
  let note = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1] ?? '';
    if (a === '--out') out = v;
    else if (a === '--note') note = v;
    else if (a === '--node') {
      const m = /^([\w-]+)=([\d.]+):(\d+)@([\d.]+)$/.exec(v);
      if (!m) throw new Error(`bad --node ${v}`);
      nodes.push({ name: m[1] ?? '', face: m[2] ?? '', port: Number(m[3]), real: m[4] ?? '' });
    } else if (a === '--who') {
      const eq = v.lastIndexOf('=');
      who.push({ match: v.slice(0, eq), name: v.slice(eq + 1) });
    } else throw new Error(`unknown argument ${a}`);
    i++;
  }
  if (!out || nodes.length === 0) throw new Error('usage: --out file --node name=face:port@real ...');
  return { nodes, who, out, note };
}

/** /proc/net/tcp writes 127.0.0.1:80 as 0100007F:0050. */
function procAddr(ip: string, port: number): string {
  const hex = ip
    .split('.')
    .reverse()
    .map((p) => Number(p).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** The command line of the local process owning the socket local→remote, if it can be found. */
async function ownerCommand(local: string, localPort: number, remote: string, remotePort: number) {
  const want = `${procAddr(local, localPort)} ${procAddr(remote, remotePort)}`;
  const table = await readFile('/proc/net/tcp', 'latin1');
  const row = table.split('\n').find((l) => l.trim().split(/\s+/).slice(1, 3).join(' ') === want);
  const inode = row?.trim().split(/\s+/)[9];
  if (!inode || inode === '0') return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (link === target) return (await readFile(`/proc/${pid}/cmdline`, 'latin1')).replaceAll('\0', ' ');
    }
  }
  return undefined;
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Splits a byte stream into FastDFS packets (10-byte header + body). */
class PacketSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private need = 0;
  private head: { len: number; cmd: number; status: number } | undefined;
  private body: Buffer[] = [];
  private kept = 0;

  constructor(
    private readonly emit: (
      h: { len: number; cmd: number; status: number },
      body: Buffer,
      cut: boolean,
    ) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (!this.head) {
        if (this.buf.length < 10) return;
        const len = Number(this.buf.readBigInt64BE(0));
        this.head = { len, cmd: this.buf[8] ?? 0, status: this.buf[9] ?? 0 };
        this.need = len;
        this.body = [];
        this.kept = 0;
        this.buf = this.buf.subarray(10);
      }
      const take = Math.min(this.need, this.buf.length);
      if (take > 0) {
        const room = Math.max(0, MAX_BODY - this.kept);
        if (room > 0) {
          const part = this.buf.subarray(0, Math.min(take, room));
          this.body.push(Buffer.from(part));
          this.kept += part.length;
        }
        this.buf = this.buf.subarray(take);
        this.need -= take;
      }
      if (this.need > 0) return;
      const h = this.head;
      this.head = undefined;
      this.emit(h, Buffer.concat(this.body), h.len > MAX_BODY);
    }
  }
}

async function main(): Promise<void> {
  const { nodes, who, out, note } = parseArgs(process.argv.slice(2));
  const start = Date.now();
  const faceOfReal = new Map(nodes.map((n) => [n.real, n]));
  const recording: Recording = {
    format: 'fastdfs-interop-recording/1',
    recorded: new Date().toISOString(),
    note,
    nodes: Object.fromEntries(nodes.map((n) => [`${n.face}:${n.port}`, n.name])),
    connections: [],
  };
  let nextId = 1;
  const save = () => writeFile(out, `${JSON.stringify(recording, null, 1)}\n`);

  async function identify(client: Socket, target: NodeSpec): Promise<NodeSpec | undefined> {
    const ip = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
    const byReal = faceOfReal.get(ip);
    if (byReal) return byReal;
    const cmd = await ownerCommand(ip, client.remotePort ?? 0, target.face, target.port).catch(
      () => undefined,
    );
    const hint = cmd ? who.find((w) => cmd.includes(w.match)) : undefined;
    return hint ? nodes.find((n) => n.name === hint.name) : undefined;
  }

  for (const target of nodes) {
    const server = createServer((client) => {
      client.pause();
      void (async () => {
        const from = await identify(client, target);
        const clientIp = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
        const conn: RecordedConnection = {
          id: nextId++,
          client: from?.name ?? clientIp,
          clientAddr: `${from?.face ?? clientIp}:${client.remotePort}`,
          server: target.name,
          serverAddr: `${target.face}:${target.port}`,
          opened: Date.now() - start,
          packets: [],
          skipped: {},
        };
        recording.connections.push(conn);
        const seen = new Map<number, number>();
        // Routine requests past the first few wait here for their answer: a plain answer (empty
        // or the flags byte 0) drops both, anything else (a change log with news) keeps both.
        const held: (RecordedPacket | undefined)[] = [];
        const packet = (
          dir: 'req' | 'resp',
          h: { len: number; cmd: number; status: number },
          body: Buffer,
          cut: boolean,
        ): RecordedPacket => ({
          dir,
          t: Date.now() - start,
          cmd: h.cmd,
          status: h.status,
          len: h.len,
          body: body.toString('hex'),
          ...(cut ? { cut: true } : {}),
        });
        const record = (dir: 'req' | 'resp') =>
          new PacketSplitter((h, body, cut) => {
            const p = packet(dir, h, body, cut);
            if (dir === 'req') {
              const n = (seen.get(h.cmd) ?? 0) + 1;
              seen.set(h.cmd, n);
              const routine = ROUTINE.has(h.cmd) && n > ROUTINE_KEPT;
              if (h.cmd !== 82) held.push(routine ? p : undefined); // QUIT gets no answer
              if (!routine) conn.packets.push(p);
              return;
            }
            const q = held.shift();
            if (q) {
              if (p.status === 0 && p.len <= 1) {
                conn.skipped[q.cmd] = (conn.skipped[q.cmd] ?? 0) + 1;
                return;
              }
              conn.packets.push(q);
            }
            conn.packets.push(p);
          });
        const upstream = connect({
          host: target.real,
          port: target.port,
          ...(from ? { localAddress: from.face } : {}),
        });
        const req = record('req');
        const resp = record('resp');
        client.on('data', (c: Buffer) => {
          req.push(c);
          upstream.write(c);
        });
        upstream.on('data', (c: Buffer) => {
          resp.push(c);
          client.write(c);
        });
        const close = () => {
          conn.closed ??= Date.now() - start;
          client.destroy();
          upstream.destroy();
        };
        client.on('close', close);
        upstream.on('close', close);
        client.on('error', close);
        upstream.on('error', close);
        upstream.once('connect', () => client.resume());
      })();
    });
    // Listen only once the daemon is up: a stock storage that reaches a tracker's address but
    // gets no answer to its first request exits, while a refused connection is retried.
    void (async () => {
      while (!(await reachable(target.real, target.port))) await sleep(200);
      server.listen(target.port, target.face);
    })();
  }
  const timer = setInterval(() => void save(), 2000);
  const stop = async () => {
    clearInterval(timer);
    await save();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.stdout.write(`recording ${nodes.length} nodes to ${out}\n`);
}

if (process.argv[1]?.endsWith('recorder.js')) void main();
