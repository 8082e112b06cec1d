/** Holds the import rules of STYLE.md: dependencies point down, modules meet through index.ts. */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** Which top-level modules each module may import. */
const allowed: Record<string, readonly string[]> = {
  common: [],
  protocol: ['common'],
  fileid: ['common'],
  config: ['common', 'protocol'],
  client: ['common', 'protocol', 'fileid', 'config'],
  tracker: ['common', 'protocol', 'fileid', 'config'],
  // Optional C helpers with JavaScript fallbacks; they import nothing of ours.
  native: [],
  storage: ['common', 'protocol', 'fileid', 'config', 'client', 'native'],
  gateway: ['common', 'protocol', 'fileid', 'config', 'client', 'native'],
  namespace: ['common'],
  s3: ['common', 'protocol', 'fileid', 'config', 'client', 'namespace', 'gateway'],
  // A plugin of the gateway (as s3 is a front end beside it): cli hands it in.
  image: ['common', 'fileid', 'config', 'gateway'],
  // The package's public entry points (package.json "exports"): they re-export, never run roles.
  exports: ['common', 'protocol', 'fileid', 'config', 'client', 'tracker', 'storage', 'gateway'],
  cli: [
    'common',
    'protocol',
    'fileid',
    'config',
    'client',
    'tracker',
    'storage',
    'gateway',
    'namespace',
    's3',
    'image',
  ],
};

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('architecture', () => {
  it('every import follows the dependency matrix and goes through index.ts', async () => {
    const problems: string[] = [];
    for (const file of await sources(SRC)) {
      const rel = relative(SRC, file);
      const mod = rel.split('/')[0] ?? '';
      expect(Object.keys(allowed), `unknown module folder ${mod}`).toContain(mod);
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
        const target = relative(SRC, resolve(join(SRC, rel, '..'), m[1] ?? ''));
        const [tmod, ...rest] = target.split('/');
        if (!tmod || tmod === mod) continue;
        if (!(allowed[mod] ?? []).includes(tmod)) problems.push(`${rel} imports ${tmod} (${m[1]})`);
        const entry = rest.join('/');
        // config/types.js is a type-only leaf the others may name directly.
        if (entry !== 'index.js' && !(tmod === 'config' && entry === 'types.js')) {
          problems.push(`${rel} reaches into ${target} instead of ${tmod}/index.js`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
