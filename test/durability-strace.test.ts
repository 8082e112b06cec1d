/**
 * "Durable before acknowledged", seen from the system calls: storages run under strace, and for an
 * upload, an append and a replica apply the log must show the content's sync, the link into
 * place, the directory's fsync and the binlog's sync, each finished before the reply that answers
 * that very request starts on that request's socket (matched by its TCP endpoints and content,
 * so another connection's reply is never taken for it). With durable_writes = false none of the
 * syncs happens. (kill -9 cannot show this: the page cache outlives a killed process.)
 * FDFS_SKIP_STRACE=1 skips it; without that, a missing strace fails it.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { exists, type Proc, removeDirs, startStorageProc, startTrackerProc } from './helpers/cluster.js';
import { eventually, tempDir } from './helpers/node-process.js';
import { exchange, fixed, header, int64 } from './helpers/raw-peer.js';
import {
  parseStrace,
  READS,
  SYNCS,
  type Syscall,
  straceSkipReason,
  straceWrap,
  WRITES,
} from './helpers/strace.js';

/** How a temp file gets its name: link (node:fs), or a rename that never replaces (the addon). */
const LINKS = new Set(['link', 'linkat', 'renameat2']);
const skip = straceSkipReason();
if (skip) console.warn(`strace tests skipped: ${skip}`);

const RESP = 100;
const DURABLE = ['durable_writes=true'];

let dir = '';
let tracker: Proc | undefined;
let client: FdfsClient | undefined;
const procs: Proc[] = [];

/** A storage under strace, its log in `dir`. */
async function traced(
  name: string,
  host: string,
  group: string,
  sets: string[],
): Promise<Proc & { log: string }> {
  const log = join(dir, `${name}.strace`);
  if (!tracker) throw new Error('no tracker');
  const p = await startStorageProc({
    host,
    group,
    trackers: [{ host: tracker.host, port: tracker.port }],
    base: join(dir, name),
    sets,
    wrap: straceWrap(log),
  });
  procs.push(p);
  return Object.assign(p, { log });
}

/** Raw upload (11) or appender upload (23) to the storage itself; returns the remote filename. */
async function upload(p: Proc, content: Buffer, cmd = 11): Promise<string> {
  const body = Buffer.concat([Buffer.from([0xff]), int64(content.length), fixed('bin', 6), content]);
  // The reply: header, group (16), and a name of fixed length: M00/HH/LL/ + 30 characters + .bin.
  const want = 10 + 16 + 10 + 30 + 4;
  const r = await exchange(p.host, p.port, Buffer.concat([header(body.length, cmd), body]), {
    want,
    waitMs: 10_000,
  });
  expect([...r.data.subarray(8, 10)]).toEqual([RESP, 0]);
  expect(r.data.readBigInt64BE(0)).toBe(BigInt(want - 10));
  return r.data.subarray(10 + 16).toString('utf8');
}

/** Raw APPEND_FILE (24). */
async function append(p: Proc, remote: string, content: Buffer): Promise<void> {
  const name = Buffer.from(remote);
  const body = Buffer.concat([int64(name.length), int64(content.length), name, content]);
  const r = await exchange(p.host, p.port, Buffer.concat([header(body.length, 24), body]), {
    want: 10,
    waitMs: 10_000,
  });
  expect([...r.data.subarray(8, 10)]).toEqual([RESP, 0]);
}

const storedPath = (base: string, remote: string) => join(base, 'data', remote.slice('M00/'.length));
const binlogOf = (base: string) => join(base, 'data', 'sync', 'binlog.000');

/** The first call matching `pred`, or a failure naming what was looked for. */
function find(calls: readonly Syscall[], what: string, pred: (c: Syscall) => boolean): Syscall {
  const c = calls.find(pred);
  if (!c) throw new Error(`strace log has no ${what}`);
  return c;
}

/** `a` returned before `b` began. */
function before(a: Syscall, b: Syscall, what: string): void {
  expect(a.end, what).toBeLessThan(b.start);
}

/**
 * The request carrying `marker` and the reply to it: the first write on that same TCP socket
 * (its two endpoints, not just its fd number, which the kernel reuses) after the request was read.
 */
function requestAndReply(calls: readonly Syscall[], marker: Buffer): { request: Syscall; reply: Syscall } {
  const request = find(
    calls,
    `socket read carrying ${JSON.stringify(marker.toString())}`,
    (c) => READS.has(c.name) && c.ret > 0 && c.fdPath?.startsWith('TCP:') === true && c.data.includes(marker),
  );
  const reply = find(
    calls,
    `reply on ${request.fdPath}`,
    (c) => WRITES.has(c.name) && c.ret > 0 && c.fdPath === request.fdPath && c.start > request.end,
  );
  expect([...reply.data.subarray(8, 10)]).toEqual([RESP, 0]);
  return { request, reply };
}

/**
 * The binlog line `<ts> <op> <name>` written after `after` returned, and synced before `by`
 * began; returns that sync.
 */
function checkBinlog(
  calls: readonly Syscall[],
  base: string,
  line: string,
  after: Syscall,
  by: Syscall,
): Syscall {
  const binlog = binlogOf(base);
  const write = find(
    calls,
    `binlog write of "${line.trim()}"`,
    (c) => WRITES.has(c.name) && c.fdPath === binlog && c.data.includes(line),
  );
  before(after, write, `the binlog line is written after ${after.name}`);
  const sync = find(
    calls,
    'binlog sync',
    (c) => SYNCS.has(c.name) && c.fdPath === binlog && c.start > write.end,
  );
  expect(sync.ret).toBe(0);
  before(sync, by, `the binlog is synced before ${by.name}`);
  return sync;
}

/**
 * A new file (an upload, or a replica's SYNC_CREATE): content written to a temp file and synced,
 * linked under its name, its directory synced, the binlog line synced, all before the reply.
 * `request` given: an upload, which logs its record (after that request arrived) and syncs it
 * before the link (a crash between leaves a record whose file never appeared, which pushers skip);
 * its content may be written before or after the record. A replica links first and logs after.
 */
function checkNewFile(
  calls: readonly Syscall[],
  base: string,
  remote: string,
  op: string,
  reply: Syscall,
  request?: Syscall,
): void {
  const final = storedPath(base, remote);
  const linked = find(
    calls,
    `link to ${final}`,
    (c) => LINKS.has(c.name) && c.ret === 0 && c.strings[1]?.toString() === final,
  );
  const from = linked.strings[0]?.toString() ?? '';
  // The addon links an unnamed file (O_TMPFILE, seen as `<dir>/#<inode>`) through /proc/self/fd;
  // node:fs links a temp file.
  const unnamedIn = `${dirname(final)}/#`;
  const unnamed = /^\/proc\/self\/fd\/\d+$/.test(from)
    ? calls
        .filter((c) => WRITES.has(c.name) && c.fdPath?.startsWith(unnamedIn) && c.start < linked.start)
        .at(-1)
    : undefined;
  const tmp = unnamed?.fdPath ?? from;
  expect(tmp).toMatch(unnamed ? /\/#\d+$/ : /\/data\/\.tmp\/[^/]+\.tmp$/);
  const writes = calls.filter((c) => WRITES.has(c.name) && c.fdPath === tmp && c.start < linked.start);
  expect(writes.length, `content writes into ${tmp}`).toBeGreaterThan(0);
  const last = writes.at(-1) as Syscall;
  const dataSync = find(
    calls,
    `sync of ${tmp}`,
    (c) => SYNCS.has(c.name) && c.fdPath === tmp && c.start > last.end,
  );
  expect(dataSync.ret).toBe(0);
  before(dataSync, linked, 'the content is synced before the link');
  const dirSync = find(
    calls,
    `fsync of ${dirname(final)} after the link`,
    (c) => SYNCS.has(c.name) && c.fdPath === dirname(final) && c.start > linked.end,
  );
  expect(dirSync.ret).toBe(0);
  before(dirSync, reply, 'the directory is synced before the reply');
  const line = ` ${op} ${remote}\n`;
  if (request) checkBinlog(calls, base, line, request, linked);
  // A replica's line follows its link; its sync and the directory's run at once, both before the answer.
  else checkBinlog(calls, base, line, linked, reply);
}

const id = Date.now().toString(36);
const uploaded = Buffer.from(`durable upload ${id}`);
const appended = Buffer.from(`durable append ${id}`);
const firstPart = Buffer.from(`appender start ${id}`);
const loose = Buffer.from(`non-durable upload ${id}`);
const looseAppend = Buffer.from(`non-durable append ${id}`);

const runs: {
  a?: { base: string; calls: Syscall[]; remote: string; appender: string };
  b?: { base: string; calls: Syscall[] };
  c?: { base: string; calls: Syscall[]; remote: string; appender: string };
} = {};

beforeAll(async () => {
  if (skip) return;
  dir = await tempDir('fdfs-strace-');
  tracker = await startTrackerProc({ base: join(dir, 'tracker') });
  client = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${tracker.host}:${tracker.port}`]]])).config,
  );
  const a = await traced('a', '127.0.0.2', 'group1', DURABLE);
  const b = await traced('b', '127.0.0.3', 'group1', DURABLE);
  const c = await traced('c', '127.0.0.4', 'group2', ['durable_writes=false']);
  await eventually(async () => {
    const list = await client?.listStorages('group1');
    if (list?.length !== 2 || list.some((s) => s.status !== StorageStatus.ACTIVE))
      throw new Error('group1 not active yet');
  }, 30_000);

  const remote = await upload(a, uploaded);
  const appender = await upload(a, firstPart, 23);
  await append(a, appender, appended);
  const looseRemote = await upload(c, loose);
  const looseAppender = await upload(c, firstPart, 23);
  await append(c, looseAppender, looseAppend);
  // B applies A's records in order, one request and one reply at a time: once it has logged the
  // last one (the append), it has answered the create before it.
  await eventually(async () => {
    const log = await readFile(binlogOf(b.base), 'utf8');
    if (!log.includes(` a ${appender} `)) throw new Error('append not replicated yet');
  }, 30_000);
  expect(await exists(storedPath(b.base, remote))).toBe(true);

  for (const p of [a, b, c]) await p.stop();
  const calls = async (p: { log: string }) => parseStrace(await readFile(p.log, 'utf8'));
  runs.a = { base: a.base, calls: await calls(a), remote, appender };
  runs.b = { base: b.base, calls: await calls(b) };
  runs.c = { base: c.base, calls: await calls(c), remote: looseRemote, appender: looseAppender };
}, 90_000);

afterAll(async () => {
  await client?.close();
  for (const p of procs) await p.stop();
  await tracker?.stop();
  await removeDirs([dir].filter(Boolean));
});

describe.skipIf(skip !== undefined)('durable writes under strace', () => {
  it('an upload: binlog synced and content synced, then linked, directory synced, then the reply with its name', () => {
    const { base, calls, remote } = runs.a ?? { base: '', calls: [], remote: '' };
    const { request, reply } = requestAndReply(calls, uploaded);
    // The reply carries this file's name: it answers this upload, not another connection's.
    expect(reply.data.subarray(10 + 16).toString('utf8')).toBe(remote);
    checkNewFile(calls, base, remote, 'C', reply, request);
  });

  it('an append: the positioned write synced, binlog synced, then the reply', () => {
    const { base, calls, appender } = runs.a ?? { base: '', calls: [], appender: '' };
    const { request, reply } = requestAndReply(calls, Buffer.from(appender));
    expect(reply.data.length).toBe(10);
    const file = storedPath(base, appender);
    const write = find(
      calls,
      `appended bytes written into ${file}`,
      (c) => WRITES.has(c.name) && c.fdPath === file && c.start > request.end && c.data.includes(appended),
    );
    const sync = find(
      calls,
      `sync of ${file}`,
      (c) => SYNCS.has(c.name) && c.fdPath === file && c.start > write.end,
    );
    expect(sync.ret).toBe(0);
    before(sync, reply, 'the appended bytes are synced before the reply');
    checkBinlog(calls, base, ` A ${appender} ${firstPart.length} ${appended.length}\n`, sync, reply);
  });

  it('a replica apply: content synced, linked, then directory and binlog synced, then the acknowledgement', () => {
    const { base, calls } = runs.b ?? { base: '', calls: [] };
    const remote = runs.a?.remote ?? '';
    // The push names the file; the acknowledgement is the first write on the pusher's socket after it.
    const { reply } = requestAndReply(calls, Buffer.from(remote));
    expect(reply.data.length).toBe(10);
    checkNewFile(calls, base, remote, 'c', reply);
  });

  it('durable_writes = false: the same temp file and link, and no sync at all', () => {
    const { base, calls, remote, appender } = runs.c ?? { base: '', calls: [], remote: '', appender: '' };
    const { reply } = requestAndReply(calls, loose);
    expect(reply.data.subarray(10 + 16).toString('utf8')).toBe(remote);
    const final = storedPath(base, remote);
    find(calls, `link to ${final}`, (c) => LINKS.has(c.name) && c.strings[1]?.toString() === final);
    requestAndReply(calls, Buffer.from(appender));
    // Only state files (pid file, counters) keep their crash-safe write; nothing on a file's path syncs.
    const onFilePath = (p: string) =>
      p.startsWith(join(base, 'data', '.tmp')) ||
      /\/data\/[0-9A-F]{2}(\/|$)/.test(p) ||
      p.startsWith(join(base, 'data', 'sync', 'binlog'));
    const syncs = calls.filter((c) => SYNCS.has(c.name) && onFilePath(c.fdPath ?? ''));
    expect(syncs.map((c) => `${c.name} ${c.fdPath}`)).toEqual([]);
  });
});
