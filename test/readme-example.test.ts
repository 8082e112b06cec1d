/**
 * The README's Node examples (every ```js block that imports fastdfs-ts), run as written with
 * plain node from the repository root, where `fastdfs-ts` resolves to this package through its
 * "exports", against a real `fdfs start`. Scripts must print their lines and end by themselves
 * (issue 8, point 14: the old example never exited); servers are driven over HTTP, then stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastdfsToken } from '../src/gateway/index.js';
import { type RunningNode, startNode } from './helpers/node-process.js';

const ROOT = resolve(import.meta.dirname, '..');
type Kind = 'client' | 'handlers' | 'embedded' | 'server';

/** The README's ```js blocks that import the package, by what they show. */
async function examples(): Promise<Map<Kind, string>> {
  const readme = await readFile(resolve(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const out = new Map<Kind, string>();
  for (const b of blocks.filter((b) => /from 'fastdfs-ts(?:\/\w+)?'/.test(b))) {
    const kind: Kind = b.includes("from 'fastdfs-ts/server'")
      ? 'server'
      : b.includes('uploadHandler')
        ? 'handlers'
        : b.includes('createRequestListener')
          ? 'embedded'
          : 'client';
    expect(out.has(kind), `two ${kind} examples`).toBe(false);
    out.set(kind, b);
  }
  return out;
}

/** `node --input-type=module` reading `code` from stdin in the repository root, as `node hello.mjs` there. */
function start(code: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--input-type=module'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  const closed = new Promise<number | null>((r) => child.once('close', r));
  child.stdin.end(code);
  return { child, lines, closed, stderr: () => err };
}

/** Runs a script to its end; `hung` when it had to be killed. */
async function runScript(code: string, env: Record<string, string>) {
  const run = start(code, env);
  let hung = false;
  // A guard, not a timing assertion: an example that never exits is the failure looked for.
  const guard = setTimeout(() => {
    hung = true;
    run.child.kill('SIGKILL');
  }, 30_000);
  const exit = await run.closed;
  clearTimeout(guard);
  return { code: exit, out: run.lines, err: run.stderr(), hung };
}

/** Starts a server example and waits for the line telling its port. */
async function runServer(code: string, env: Record<string, string>, ready: RegExp) {
  const run = start(code, env);
  const port = await new Promise<number>((res, rej) => {
    const poll = setInterval(() => {
      const m = run.lines.map((l) => ready.exec(l)).find((x) => x);
      if (m) {
        clearInterval(poll);
        res(Number(m[1]));
      }
    }, 20);
    void run.closed.then((c) => {
      clearInterval(poll);
      rej(new Error(`example exited with ${c}: ${run.stderr()}`));
    });
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => stop(run.child, run.closed), stderr: run.stderr };
}

async function stop(child: ChildProcess, closed: Promise<unknown>): Promise<void> {
  child.kill('SIGTERM');
  await closed;
}

let node: RunningNode;
let tracker: string;
let blocks: Map<Kind, string>;
beforeAll(async () => {
  node = await startNode();
  tracker = `${node.tracker.host}:${node.tracker.port}`;
  blocks = await examples();
}, 60_000);
afterAll(async () => {
  await node?.stop();
});

describe('README Node examples', () => {
  it('has a client, a handlers, an embedded gateway and a server example', () => {
    expect([...blocks.keys()].sort()).toEqual(['client', 'embedded', 'handlers', 'server']);
  });

  it('the client example prints the id, a range, the streamed file and ENOENT, and exits 0', async () => {
    const r = await runScript(blocks.get('client') ?? '', { FDFS_TRACKER: tracker });
    expect(r.hung, `the example did not exit; stdout: ${r.out.join('\n')}`).toBe(false);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(3);
    expect(r.out[0]).toMatch(/^group1\/M00\/[0-9A-F]{2}\/[0-9A-F]{2}\/\S+\.txt hello author=me$/);
    expect(r.out.slice(1)).toEqual(['streamed both ways', 'FDFS_ERR_ENOENT']);
  }, 60_000);

  it('the hono example takes uploads behind its own bearer auth and serves them with tokens', async () => {
    const env = {
      FDFS_TRACKER: tracker,
      PORT: '0',
      APP_TOKEN: 'app-token-of-the-test',
      TOKEN_SECRET: 'ts-1',
    };
    const app = await runServer(blocks.get('handlers') ?? '', env, /^listening on (\d+)$/);
    try {
      const form = () => {
        const f = new FormData();
        f.append('meta.author', 'readme');
        f.append('file', new Blob(['uploaded through the example']), 'r.txt');
        return f;
      };
      expect((await fetch(`${app.base}/api/files`, { method: 'POST', body: form() })).status).toBe(401);
      const res = await fetch(`${app.base}/api/files`, {
        method: 'POST',
        body: form(),
        headers: { authorization: `Bearer ${env.APP_TOKEN}` },
      });
      expect(res.status).toBe(200);
      const { files } = (await res.json()) as { files: { fileId: string; url: string; name: string }[] };
      const fileId = files[0]?.fileId ?? '';
      expect(files[0]).toMatchObject({ name: 'r.txt', url: `https://cdn.example.com/media/${fileId}` });
      expect((await fetch(`${app.base}/media/${fileId}`)).status).toBe(403);
      const ts = Math.floor(Date.now() / 1000);
      const token = fastdfsToken(fileId.slice(fileId.indexOf('/') + 1), env.TOKEN_SECRET, ts);
      const got = await fetch(`${app.base}/media/${fileId}?token=${token}&ts=${ts}`);
      expect(got.status).toBe(200);
      expect(await got.text()).toBe('uploaded through the example');
      expect(app.stderr()).toBe('');
    } finally {
      await app.stop();
    }
  }, 60_000);

  it('the embedded gateway answers uploads with the API key, file URLs and /healthz', async () => {
    const env = { FDFS_TRACKER: tracker, PORT: '0', API_KEY: 'k'.repeat(40) };
    const gw = await runServer(blocks.get('embedded') ?? '', env, /^gateway on port (\d+)$/);
    try {
      const put = (auth: boolean) =>
        fetch(`${gw.base}/upload/e.txt`, {
          method: 'PUT',
          body: 'embedded',
          headers: auth ? { authorization: `Bearer ${env.API_KEY}` } : {},
        });
      expect((await put(false)).status).toBe(401);
      const res = await put(true);
      expect(res.status).toBe(200);
      const { fileId } = (await res.json()) as { fileId: string };
      const got = await fetch(`${gw.base}/${fileId}`);
      expect(await got.text()).toBe('embedded');
      expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
      expect(gw.stderr()).toBe('');
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('the server example starts a tracker and a storage, uploads through them and exits 0', async () => {
    const r = await runScript(blocks.get('server') ?? '', {});
    expect(r.hung, `the example did not exit; stdout: ${r.out.join('\n')}`).toBe(false);
    expect(r.err).toBe('');
    expect(r.out).toEqual(['from code group1']);
    expect(r.code).toBe(0);
  }, 60_000);
});
