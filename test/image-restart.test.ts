/**
 * Image variants as shipped: `fdfs start --set http.image.presets=…` renders a variant once; after
 * a restart the stored slave is served with no render at all. `fdfs gateway <http.conf>` in front
 * of that node renders into the cluster, and the node's own gateway then serves that slave.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { decoded, picture } from './helpers/images.js';
import { CLI, type RunningNode, startNode, tempDir } from './helpers/node-process.js';

const PRESETS = ['--set', 'http.image.presets=200x200,120x0'];
const running: RunningNode[] = [];
let base = '';

afterAll(async () => {
  for (const n of running) await n.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

async function counter(origin: string, name: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(`${name} `))
      ?.slice(name.length + 1),
  );
}

async function upload(origin: string, data: Buffer, name = 'photo.jpg'): Promise<string> {
  const res = await fetch(`${origin}/upload/${name}`, { method: 'PUT', body: data });
  expect(res.status).toBe(200);
  return ((await res.json()) as { fileId: string }).fileId;
}

async function startGatewayProc(conf: string): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, [CLI, 'gateway', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
  const ready = await new Promise<string>((res, rej) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      if (l.startsWith('fdfs ready')) res(l);
    });
    child.once('exit', (code) => rej(new Error(`fdfs gateway exited with ${code}: ${stderr.join('\n')}`)));
  });
  return { child, origin: `http://${/http=(\S+)/.exec(ready)?.[1]}` };
}

describe('image variants through the CLI', () => {
  it('survive a restart of fdfs start and are served without rendering again', async () => {
    base = await tempDir('fdfs-img-');
    const first = await startNode({ base, args: PRESETS });
    running.push(first);
    let origin = `http://${first.http.host}:${first.http.port}`;
    const master = await upload(origin, await picture(1000, 750, 'jpeg'));
    const made = await fetch(`${origin}/${master}?w=200&h=200&fmt=webp`);
    expect(made.status).toBe(200);
    const body = Buffer.from(await made.arrayBuffer());
    expect(await decoded(body)).toMatchObject({ format: 'webp', width: 200, height: 200 });
    expect(await counter(origin, 'fdfs_image_renders_total{result="ok"}')).toBe(1);
    expect(await first.stop()).toBe(0);
    running.pop();

    const again = await startNode({ base, args: PRESETS });
    running.push(again);
    origin = `http://${again.http.host}:${again.http.port}`;
    const res = await fetch(`${origin}/${master}?w=200&h=200&fmt=webp`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
    expect(await counter(origin, 'fdfs_image_renders_total{result="ok"}')).toBe(0);
    expect(await counter(origin, 'fdfs_image_variants_served_total')).toBe(1);
  });

  it('fdfs gateway renders into the cluster it fronts', async () => {
    const node = running[0] as RunningNode;
    const nodeOrigin = `http://${node.http.host}:${node.http.port}`;
    const conf = join(base, 'http.conf');
    await writeFile(
      conf,
      [
        `base_path = ${join(base, 'standalone')}`,
        `tracker_server = ${node.tracker.host}:${node.tracker.port}`,
        'http.server_port = 0',
        'http.bind_addr = 127.0.0.1',
        'http.image.presets = 120x0',
        '',
      ].join('\n'),
    );
    const gw = await startGatewayProc(conf);
    try {
      const master = await upload(nodeOrigin, await picture(600, 400, 'png'), 'photo.png');
      const res = await fetch(`${gw.origin}/${master}?w=120`);
      expect(res.status).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect(await decoded(body)).toMatchObject({ format: 'png', width: 120, height: 80 });
      expect(await counter(gw.origin, 'fdfs_image_renders_total{result="ok"}')).toBe(1);
      // The node beside the storage finds the slave on its disk: no render there.
      const there = await fetch(`${nodeOrigin}/${master}?w=120`);
      expect(Buffer.from(await there.arrayBuffer())).toEqual(body);
      expect(await counter(nodeOrigin, 'fdfs_image_renders_total{result="ok"}')).toBe(0);
    } finally {
      const exited = new Promise((r) => gw.child.once('exit', r));
      gw.child.kill('SIGTERM');
      await exited;
    }
  });
});
