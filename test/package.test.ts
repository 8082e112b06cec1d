/**
 * The package as a Node app gets it (issue 13): `npm pack`, the tarball installed into a fresh
 * project (dependencies from the npm cache, else the registry), test/package/consumer.ts compiled
 * there with strict TypeScript against the shipped .d.ts, then run against `fdfs start`; curl
 * drives the hono app it mounts the upload and file handlers in. The installed bins run too.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { fastdfsToken } from '../src/gateway/index.js';
import { canBuildAddon } from './helpers/native.js';
import { eventually, type RunningNode, startNode, tempDir } from './helpers/node-process.js';
import { storedNames } from './helpers/stored.js';

const ROOT = resolve(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const API_KEY = 'a'.repeat(40);
const TOKEN_SECRET = 'secret-of-the-consumer';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((res) => {
    execFile(
      cmd,
      args,
      { cwd, env: { ...process.env, ...env }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) =>
        res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function curl(...args: string[]): Promise<{ status: number; body: string }> {
  return run('curl', ['-sS', '-w', '\n%{http_code}', ...args], ROOT).then((r) => {
    const cut = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
  });
}

let node: RunningNode;
let dir: string;
let packed: { files: { path: string }[] };
let tracker: string;

beforeAll(async () => {
  node = await startNode();
  tracker = `${node.tracker.host}:${node.tracker.port}`;
  dir = await tempDir('fdfs-package-');
  // --ignore-scripts: `prepare` would rebuild dist/ under the other tests' feet; npm test built it.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
  expect(pack.code, pack.stderr).toBe(0);
  [packed] = JSON.parse(pack.stdout);
  const tarball = join(dir, (packed as unknown as { filename: string }).filename);
  await writeFile(join(dir, 'package.json'), '{ "name": "consumer", "private": true, "type": "module" }\n');
  const devDeps = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).devDependencies;
  const install = await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball,
      `@types/node@${devDeps['@types/node']}`,
    ],
    dir,
  );
  expect(install.code, install.stderr).toBe(0);
  await copyFile(join(ROOT, 'test', 'package', 'consumer.ts'), join(dir, 'consumer.ts'));
  // The project's own strict settings; lib DOM because hono's websocket types name DOM events,
  // and no skipLibCheck, so the shipped .d.ts are checked too.
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023', 'esnext.disposable', 'DOM'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    noImplicitOverride: true,
    skipLibCheck: false,
    types: ['node'],
    outDir: 'out',
    rootDir: '.',
  };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
}, 300_000);

afterAll(async () => {
  expect(await node?.stop()).toBe(0);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it("ships built JS with .d.ts for every export and bin, and no sources, maps or tests but the addon's C", async () => {
    const files = new Set(packed.files.map((f) => f.path));
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const targets = Object.values(pkg.exports as Record<string, string | Record<string, string>>).flatMap(
      (e) => (typeof e === 'string' ? [e] : Object.values(e)),
    );
    expect(targets.length).toBe(7);
    for (const t of [...targets, ...Object.values(pkg.bin as Record<string, string>)]) {
      expect(files, t).toContain(t.replace(/^\.\//, ''));
    }
    // One kind of source ships: the native addon's C files and header, which the install script compiles.
    const odd = [...files].filter(
      (f) =>
        f.endsWith('.map') ||
        (f.startsWith('src/') && !/^src\/native\/[a-z]+\.[ch]$/.test(f)) ||
        f.startsWith('test/') ||
        f.startsWith('dist/test/'),
    );
    expect(odd).toEqual([]);
    for (const c of ['addon.c', 'sendfile.c', 'files.c', 'jobs.c', 'jobs.h'])
      expect(files).toContain(`src/native/${c}`);
    expect([...files].filter((f) => f.endsWith('.node'))).toEqual([]);
    expect(files).toContain('conf/client.conf');
    expect(files).toContain('public/index.html');
  });

  it('compiles a strict TypeScript app that imports fastdfs-ts, /gateway and /server', async () => {
    const tsc = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  }, 120_000);

  it('runs against fdfs start: round trip, abort, servers from code, a hono app curl uploads through; exits by itself', async () => {
    const before = await storedNames(node.base);
    const child = spawn(process.execPath, ['out/consumer.js'], {
      cwd: dir,
      env: { ...process.env, FDFS_TRACKER: tracker, FDFS_BASE: node.base, API_KEY, TOKEN_SECRET },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const lines: string[] = [];
    const exited = new Promise<number | null>((r) => child.once('close', r));
    const app = await new Promise<string>((res, rej) => {
      createInterface({ input: child.stdout }).on('line', (l) => {
        lines.push(l);
        if (l.startsWith('app ')) res(l.slice(4));
      });
      void exited.then((code) =>
        rej(new Error(`consumer exited with ${code}: ${lines.join('\n')}\n${stderr}`)),
      );
    });
    expect(lines).toEqual([
      'roundtrip group1 from the tarball pkg true FDFS_ERR_ENOENT',
      'abort FDFS_ERR_ECANCELED 125',
      'server group1',
      'gateway function false',
      'private ERR_PACKAGE_PATH_NOT_EXPORTED',
      `app ${app}`,
    ]);
    // The round trip deleted its file and the aborted upload left neither a file nor a temp.
    expect(await storedNames(node.base)).toEqual(before);

    const small = join(dir, 'small.txt');
    await writeFile(small, 'through the app');
    const big = join(dir, 'big.bin');
    await writeFile(big, Buffer.alloc(2048, 1));
    const auth = ['-H', `Authorization: Bearer ${API_KEY}`];
    expect((await curl('-F', `file=@${small}`, `${app}/api/files`)).status).toBe(401);
    const tooBig = await curl(...auth, '-T', big, `${app}/api/files/big.bin`);
    expect(tooBig.status).toBe(413);
    expect(JSON.parse(tooBig.body).error.code).toBe('FDFS_ERR_EFBIG');
    const up = await curl(...auth, '-F', 'meta.kind=note', '-F', `file=@${small}`, `${app}/api/files`);
    expect(up.status).toBe(200);
    const fileId: string = JSON.parse(up.body).files[0].fileId;
    const url = `${app}/media/${fileId}`;
    expect((await curl(url)).status).toBe(403);
    const ts = Math.floor(Date.now() / 1000);
    const token = fastdfsToken(fileId.slice(fileId.indexOf('/') + 1), TOKEN_SECRET, ts);
    const got = await curl(`${url}?token=${token}&ts=${ts}`);
    expect(got).toEqual({ status: 200, body: 'through the app' });

    child.stdin.end();
    // A guard, not a timing assertion: a process kept alive by the pool is the failure looked for.
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(guard);
    expect(lines.at(-1)).toBe('done');
    expect(code).toBe(0);
    expect(stderr).toBe('');

    const client = new FdfsClient({ trackers: [tracker] });
    expect(await client.getMetadata(fileId)).toEqual({ kind: 'note' });
    await client.delete(fileId);
    await client.close();
  }, 120_000);

  it.skipIf(!canBuildAddon())('builds the native addon at install, from the shipped C sources', async () => {
    const installed = join(dir, 'node_modules', 'fastdfs-ts');
    const addon = createRequire(join(installed, 'package.json'))('./dist/native/fdfs_native.node');
    expect(typeof addon.sendFile).toBe('function');
    expect(typeof addon.createFile).toBe('function');
  });

  it('runs `npx fdfs --help` and `npx fdfs_upload_file` from the installed tarball', async () => {
    const help = await run('npx', ['--no-install', 'fdfs', '--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^fdfs <command>/);
    expect(help.stdout).toContain('start');
    await writeFile(join(dir, 'client.conf'), `base_path = ${dir}\ntracker_server = ${tracker}\n`);
    await writeFile(join(dir, 'hello.txt'), 'uploaded by fdfs_upload_file');
    const up = await run('npx', ['--no-install', 'fdfs_upload_file', 'client.conf', 'hello.txt'], dir);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const fileId = up.stdout.trim();
    expect(fileId).toMatch(/^group1\/M00\/.+\.txt$/);
    const client = new FdfsClient({ trackers: [tracker] });
    const body = await eventually(() => client.downloadBuffer(fileId));
    expect(body.toString()).toBe('uploaded by fdfs_upload_file');
    await client.delete(fileId);
    await client.close();
  }, 60_000);
});
