/**
 * `npm run build`'s last step, and the package's install script (the tarball ships the C files
 * for it): compiles addon.c, sendfile.c and files.c into dist/native/fdfs_native.node with the
 * machine's C compiler (`CC`, default cc) against the headers of the running Node (Node-API and
 * libuv, both ABI-stable). No node-gyp: it would fetch headers from the internet, and one file
 * needs one compiler call. When the compiler or the headers are missing it says so and succeeds:
 * the product runs without the addon (index.ts), only large downloads and durable small uploads
 * cost more CPU.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ADDON_PATH } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const sources = ['addon.c', 'sendfile.c', 'files.c', 'jobs.c'].map((f) =>
  resolve(here, '../../../src/native', f),
);
const output = resolve(here, ADDON_PATH);
const headers = join(dirname(process.execPath), '..', 'include', 'node');

async function main(): Promise<void> {
  if (process.platform !== 'linux') return;
  try {
    await access(join(headers, 'node_api.h'));
    await access(join(headers, 'uv.h'));
  } catch {
    process.stdout.write(
      `native addon not built: no Node headers in ${headers}; the plain JavaScript paths are used\n`,
    );
    return;
  }
  await mkdir(dirname(output), { recursive: true });
  await rm(output, { force: true }); // never a stale addon beside new code
  const cc = process.env.CC || 'cc';
  try {
    await promisify(execFile)(cc, [
      '-O2',
      '-shared',
      '-fPIC',
      '-pthread',
      '-Wall',
      '-I',
      headers,
      '-o',
      output,
      ...sources,
    ]);
  } catch (err) {
    const why = (err as { stderr?: string; message: string }).stderr?.trim() || (err as Error).message;
    process.stdout.write(
      `native addon not built (${cc}: ${why.split('\n')[0]}); the plain JavaScript paths are used\n`,
    );
  }
}

await main();
