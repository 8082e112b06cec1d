/**
 * A Node app's view of fastdfs-ts. test/package.test.ts packs the package, installs the tarball
 * into a fresh project, compiles this file there with strict TypeScript and runs it against
 * `fdfs start`. It imports every entry point; nothing here may reach into dist/ paths.
 */
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { serve } from '@hono/node-server';
import { type CallOptions, FdfsClient, FdfsError, parseFileId, Status, type UploadOptions } from 'fastdfs-ts';
import { createApp, createRequestListener, fileHandler, httpConfig, uploadHandler } from 'fastdfs-ts/gateway';
import { startStorage, startTracker, storageConfig, trackerConfig } from 'fastdfs-ts/server';
import { Hono } from 'hono';

function need(name: string): string {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
}
const out = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const codeOf = (e: unknown) => (e instanceof FdfsError ? e.code : String(e));

const tracker = need('FDFS_TRACKER');
const base = need('FDFS_BASE');

// 1. The client: upload, download (Buffer and stream), metadata, delete. Never closed: the
// script must still end once its work is done.
const client = new FdfsClient({ trackers: [tracker], timeout: 30_000 });
const opts: UploadOptions = { ext: 'txt', metadata: { author: 'pkg' } };
const id = await client.upload(Buffer.from('from the tarball'), opts);
const back = await client.downloadBuffer(id);
const meta = await client.getMetadata(id);
let streamed = '';
for await (const chunk of await client.download(id)) streamed += String(chunk);
await client.delete(id);
const call: CallOptions = { timeout: 10_000 };
const gone = await client.fileInfo(id, { ...call, fromServer: true }).then(() => 'still there', codeOf);
out(
  `roundtrip ${parseFileId(id).group} ${back.toString()} ${meta.author} ${streamed === back.toString()} ${gone}`,
);

// 2. An abort while the body is half sent: the storage holds a temp file, then nothing.
const ctl = new AbortController();
let sent = false;
const body = new Readable({
  read() {
    if (!sent) this.push(Buffer.alloc(65_536, 1));
    sent = true;
  },
});
const pending = client.upload(body, { size: 1 << 20, ext: 'bin', signal: ctl.signal });
const tmp = join(base, 'storage', 'data', '.tmp');
while ((await readdir(tmp)).length === 0) await sleep(10);
ctl.abort();
out(`abort ${await pending.then(() => 'stored', codeOf)} ${Status.ECANCELED}`);

// 3. A tracker and a storage started from code, and a client that `await using` closes.
const dir = await mkdtemp(join(tmpdir(), 'fdfs-consumer-'));
const t = await startTracker(trackerConfig({ base_path: join(dir, 't'), port: 0, bind_addr: '127.0.0.1' }));
const own = `127.0.0.1:${t.address.port}`;
const s = await startStorage(
  storageConfig({
    base_path: join(dir, 's'),
    store_path0: join(dir, 's'),
    port: 0,
    bind_addr: '127.0.0.1',
    tracker_server: own,
  }),
);
{
  await using c = new FdfsClient({ trackers: [own] });
  let groups: string[] = [];
  for (let i = 0; i < 200 && groups.length === 0; i++) {
    groups = (await c.listGroups()).map((g) => g.groupName);
    if (groups.length === 0) await sleep(50);
  }
  out(`server ${groups.join(',')}`);
}
await s.close();
await t.close();
await rm(dir, { recursive: true, force: true });

// 4. The gateway's semantics in an app of one's own: uploads behind a bearer key with a 1 KB
// limit, files behind FastDFS tokens. The test drives it with curl and then ends our stdin.
const config = httpConfig({
  'http.upload.max_size': '1KB',
  'http.auth.api_key': need('API_KEY'),
  'http.anti_steal.check_token': true,
  'http.anti_steal.secret_key': need('TOKEN_SECRET'),
});
const app = new Hono();
app.on(['POST', 'PUT'], '/api/files/:name?', uploadHandler({ client, config }));
app.get('/media/*', fileHandler({ client, config, prefix: '/media' }));
// The whole gateway, as a hono app or a node:http listener (built, not served, here).
const whole = createApp(config, { remote: client });
const listener = createServer(createRequestListener(config, { remote: client }));
out(`gateway ${typeof whole.fetch} ${listener.listening}`);

// Everything else is private.
const deep = 'fastdfs-ts/dist/src/client/index.js';
out(
  `private ${await import(deep).then(
    () => 'importable',
    (e: NodeJS.ErrnoException) => e.code,
  )}`,
);

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
  out(`app http://127.0.0.1:${info.port}`),
);
process.stdin.resume();
await once(process.stdin, 'end');
server.close();
out('done');
