import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, syncDirGrouped, writeFileAtomic } from '../src/common/index.js';

describe('atomic files', () => {
  it('writeFileAtomic replaces the content and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fdfs-atomic-'));
    const path = join(dir, 'state.dat');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['state.dat']);
  });

  it('grouped directory syncs all resolve, and a missing directory rejects every waiter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fdfs-dirsync-'));
    await expect(Promise.all(Array.from({ length: 50 }, () => syncDirGrouped(dir)))).resolves.toHaveLength(
      50,
    );
    // A later call after the group settled starts a new sync rather than reusing a stale one.
    await expect(syncDirGrouped(dir)).resolves.toBeUndefined();
    const missing = join(dir, 'nope');
    const results = await Promise.allSettled([syncDirGrouped(missing), syncDirGrouped(missing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('logger', () => {
  const logged = (fields: Record<string, unknown>) => {
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l) }).info('m', fields);
    return JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  };

  it('redacts secret strings and lists under secret-sounding names', () => {
    const out = logged({
      secret: 'jwt-secret-value',
      apiKey: 'k1',
      api_keys: ['k1', 'k2'],
      authorization: 'Bearer abc',
      token: { value: 'x' },
    });
    expect(out).toMatchObject({
      secret: '[redacted]',
      apiKey: '[redacted]',
      api_keys: '[redacted]',
      authorization: '[redacted]',
      token: '[redacted]',
    });
    expect(JSON.stringify(out)).not.toMatch(/jwt-secret-value|k1|abc/);
  });

  it('keeps flags, counts and empty values readable (the start log said "tokens":"[redacted]")', () => {
    const out = logged({
      tokens: true,
      signedLinks: false,
      secretCount: 2,
      password: '',
      token: null,
      port: 8080,
    });
    expect(out).toMatchObject({
      tokens: true,
      signedLinks: false,
      secretCount: 2,
      password: '',
      token: null,
      port: 8080,
    });
  });

  it('redacts the same way in child loggers', () => {
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l) })
      .child({ secret_key: 's3cr3t', tokens: false })
      .warn('w');
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ secret_key: '[redacted]', tokens: false });
  });

  it('says whether debug lines are kept, for itself and its children', () => {
    const lines: string[] = [];
    const info = createLogger({ write: (l) => lines.push(l) });
    const debug = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    expect([info.debugging, info.child({ a: 1 }).debugging]).toEqual([false, false]);
    expect([debug.debugging, debug.child({ a: 1 }).debugging]).toEqual([true, true]);
    info.child({ a: 1 }).debug('dropped');
    debug.child({ a: 1 }).debug('kept');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['kept']);
  });
});
