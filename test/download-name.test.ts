/**
 * The name real download tools save a gateway file under. curl -OJ reads only `filename="…"`
 * (never `filename*`), so that ASCII stand-in is what lands on disk (issue 8, point 14: it used
 * to be `__.png`); wget --content-disposition honours filename* and keeps the UTF-8 name. Each
 * tool's part is skipped when the tool is not installed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHandle, startGateway } from '../src/gateway/index.js';
import { type InProcessCluster, startCluster } from './helpers/gateway-cluster.js';
import { tempDir } from './helpers/node-process.js';

const run = promisify(execFile);
const has = async (tool: string) =>
  run(tool, ['--version']).then(
    () => true,
    () => false,
  );
const [curl, wget] = await Promise.all([has('curl'), has('wget')]);

let cl: InProcessCluster;
let gw: GatewayHandle;
let url: string;
let dir: string;
const data = Buffer.from('a png stand-in\n');

beforeAll(async () => {
  cl = await startCluster();
  gw = await startGateway(cl.httpConfig(), { local: cl.local, remote: cl.client });
  const form = new FormData();
  form.append('file', new Blob([data]), 'x.png');
  const res = await fetch(`http://127.0.0.1:${gw.address.port}/upload`, { method: 'POST', body: form });
  url = ((await res.json()) as { files: { url: string }[] }).files[0]?.url ?? '';
  dir = await tempDir('fdfs-dlname-');
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await cl?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `tool args… <url>?filename=<name>` in a fresh folder; returns the one file it saved. */
async function saved(tool: string, args: string[], name: string): Promise<string> {
  const into = await mkdtemp(join(dir, 'run-'));
  await run(tool, [...args, `${url}?filename=${encodeURIComponent(name)}`], { cwd: into });
  const files = await readdir(into);
  expect(files).toHaveLength(1);
  const file = files[0] ?? '';
  expect((await readFile(join(into, file))).equals(data)).toBe(true);
  return file;
}

describe('download names', () => {
  it.skipIf(!curl)(
    'curl -OJ saves the ASCII stand-in: extension and ASCII letters kept, no __.png',
    async () => {
      expect(await saved('curl', ['-sS', '-OJ'], '图片.png')).toBe('download.png');
      expect(await saved('curl', ['-sS', '-OJ'], '报告 café 2024.png')).toBe('cafe 2024.png');
      expect(await saved('curl', ['-sS', '-OJ'], 'plain-name.png')).toBe('plain-name.png');
    },
  );

  it.skipIf(!wget)('wget --content-disposition keeps the UTF-8 name from filename*', async () => {
    expect(await saved('wget', ['-q', '--content-disposition'], '图片.png')).toBe('图片.png');
  });
});
