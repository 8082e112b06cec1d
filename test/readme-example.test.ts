/**
 * The README's client example, run as written with plain node against a real `fdfs start`: it
 * must print its line and end by itself (issue 8, point 14: it imported ./src/… and, never
 * closing the pool, never exited).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from './helpers/node-process.js';

const ROOT = resolve(import.meta.dirname, '..');

/** The ```js block of README.md that imports the built client. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(resolve(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const found = blocks.filter((b) => b.includes('./dist/src/client/index.js'));
  expect(found).toHaveLength(1);
  return found[0] ?? '';
}

/** `node --input-type=module` reading `code` from stdin in the repository root, as `node hello.mjs` there. */
function runNode(code: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; out: string; err: string; hung: boolean }>((res, rej) => {
    const child = spawn(process.execPath, ['--input-type=module'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let hung = false;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    // A guard, not a timing assertion: an example that never exits is the failure looked for.
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, 20_000);
    child.once('error', rej);
    child.once('close', (code) => {
      clearTimeout(guard);
      res({ code, out, err, hung });
    });
    child.stdin.end(code);
  });
}

let node: RunningNode;
beforeAll(async () => {
  node = await startNode();
}, 60_000);
afterAll(async () => {
  await node?.stop();
});

describe('README client example', () => {
  it('runs with plain node, prints the uploaded id, bytes and metadata, and exits 0', async () => {
    const code = await readmeExample();
    const tracker = `${node.tracker.host}:${node.tracker.port}`;
    const r = await runNode(code, { FDFS_TRACKER: tracker });
    expect(r.hung, `the example did not exit; stdout: ${r.out}`).toBe(false);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^group1\/M00\/[0-9A-F]{2}\/[0-9A-F]{2}\/\S+\.txt hello author=me\n$/);
  }, 40_000);
});
