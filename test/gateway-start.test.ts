/**
 * The gateway as shipped: inside `fdfs start` (a child process), `fdfs sign` making links offline,
 * and `fdfs gateway <http.conf>` as a separate process in front of the same cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fdfs } from './helpers/cli.js';
import { CLI, type RunningNode, startNode } from './helpers/node-process.js';

const SECRET = 'a-link-secret-of-at-least-32-characters!';
let node: RunningNode;
let origin: string;

beforeAll(async () => {
  node = await startNode({ args: ['--set', `http.jwt.secret=${SECRET}`] });
  origin = `http://${node.http.host}:${node.http.port}`;
}, 30_000);

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
});

async function upload(name: string, data: Buffer, base = origin): Promise<{ fileId: string; url: string }> {
  const form = new FormData();
  form.append('file', new Blob([data]), name);
  const res = await fetch(`${base}/upload`, { method: 'POST', body: form });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { files: { fileId: string; url: string }[] }).files[0] as {
    fileId: string;
    url: string;
  };
}

describe('fdfs start', () => {
  it('prints http= in its ready line and serves uploads, downloads and deletes', async () => {
    expect(node.http.port).toBeGreaterThan(0);
    const data = Buffer.from('through fdfs start\n'.repeat(100));
    const s = await upload('start.txt', data);
    expect(s.url).toBe(`${origin}/${s.fileId}`);
    const res = await fetch(s.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    expect((await fetch(s.url, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(s.url)).status).toBe(404);
    expect((await fetch(`${origin}/`)).headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it('fdfs sign makes, offline, a link the gateway opens (and only for that file)', async () => {
    const s = await upload('signed.png', Buffer.from('signed'));
    const out = await fdfs(
      [
        'sign',
        s.fileId,
        '--ttl',
        '60',
        '--set',
        `http.jwt.secret=${SECRET}`,
        '--set',
        `http.public_url=${origin}`,
      ],
      node.base,
    );
    expect(out.code, out.stderr).toBe(0);
    const url = out.out.trim();
    expect(url).toMatch(new RegExp(`^${origin}/${s.fileId}\\?sig=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('signed');
    const sig = new URL(url).searchParams.get('sig');
    const t = await upload('other.png', Buffer.from('other'));
    expect((await fetch(`${t.url}?sig=${sig}`)).status).toBe(403);
    const bad = await fdfs(['sign', s.fileId, '--ttl', '0', '--set', `http.jwt.secret=${SECRET}`], node.base);
    expect(bad.code).toBe(22);
  });

  it('fdfs sign --variant makes a link that renders that variant, and no other', async () => {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c03' } })
      .png()
      .toBuffer();
    const s = await upload('master.png', png);
    const sign = (...more: string[]) =>
      fdfs(
        [
          'sign',
          s.fileId,
          ...more,
          '--set',
          `http.jwt.secret=${SECRET}`,
          '--set',
          `http.public_url=${origin}`,
        ],
        node.base,
      );
    const out = await sign('--variant', 'w=17&fmt=webp');
    expect(out.code, out.stderr).toBe(0);
    const url = out.out.trim();
    const res = await fetch(url);
    expect(res.status, url).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width).toBe(17);
    // The signature names the variant: another size, or the bare master, does not open with it.
    const sig = new URL(url).searchParams.get('sig');
    expect((await fetch(`${s.url}?w=18&fmt=webp&sig=${sig}`)).status).toBe(403);
    expect((await fetch(`${s.url}?sig=${sig}`)).status).toBe(403);
    expect((await sign('--variant', 'w=0&h=0')).code).toBe(22);
    expect((await sign('--variant', 'w=17', '--md5')).code).toBe(22);
  });
});

describe('fdfs gateway <http.conf>', () => {
  let child: ChildProcess;
  let standalone: string;

  beforeAll(async () => {
    const conf = join(node.base, 'http.conf');
    await writeFile(
      conf,
      [
        `base_path = ${join(node.base, 'standalone')}`,
        `tracker_server = ${node.tracker.host}:${node.tracker.port}`,
        'http.server_port = 0',
        'http.bind_addr = 127.0.0.1',
        '',
      ].join('\n'),
    );
    child = spawn(process.execPath, [CLI, 'gateway', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
    const ready = await new Promise<string>((res, rej) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
        if (l.startsWith('fdfs ready')) res(l);
      });
      child.once('exit', (code) => rej(new Error(`fdfs gateway exited with ${code}: ${stderr.join('\n')}`)));
    });
    standalone = `http://${/http=(\S+)/.exec(ready)?.[1]}`;
  }, 30_000);

  afterAll(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('reaches the cluster through the tracker: both gateways see the same files', async () => {
    const viaStart = await upload('a.bin', Buffer.from('from the embedded gateway'));
    const res = await fetch(`${standalone}/${viaStart.fileId}`);
    expect(await res.text()).toBe('from the embedded gateway');
    const viaStandalone = await upload('b.bin', Buffer.from('spooled by the standalone gateway'), standalone);
    expect(await (await fetch(`${origin}/${viaStandalone.fileId}`)).text()).toBe(
      'spooled by the standalone gateway',
    );
    const cluster = (await (await fetch(`${standalone}/api/cluster`)).json()) as {
      groups: { name: string }[];
    };
    expect(cluster.groups.map((g) => g.name)).toEqual(['group1']);
  });
});
