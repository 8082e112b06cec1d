/**
 * Unknown conf keys at start: a typo warns, a typo in a security key refuses to start (issue 8,
 * point 5: `--set http.auth.apikey=…` used to start with auth off and say nothing).
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertKnownKeys, checkKeys, editDistance, isSecurityKey } from '../src/cli/unknown-keys.js';
import { applyOverrides } from '../src/config/index.js';
import { fdfs } from './helpers/cli.js';
import { startNode, tempDir } from './helpers/node-process.js';

const sets = (...keys: string[]) => applyOverrides(new Map(), new Map(keys.map((k) => [k, ['x']])));

describe('checkKeys (pure)', () => {
  it.each([
    ['http.auth.apikey', ['http'], 'http.auth.api_key'],
    ['http.jwt.secrt', ['http'], 'http.jwt.secret'],
    ['http.anti_steal.check_tokn', ['storage', 'http'], 'http.anti_steal.check_token'],
    ['http.auth.jwt-secret', ['tracker', 'storage', 'http'], 'http.auth.jwt_secret'],
    ['http.api_key', ['http'], 'http.auth.api_key'],
  ] as const)('refuses %s, pointing at %s', (key, roles, nearest) => {
    expect(checkKeys([key], roles)).toEqual({ unknown: [key], refused: [{ key, nearest }] });
  });

  it('only warns about other unknown keys and accepts every known one', () => {
    const r = checkKeys(
      ['heart_beat_intervall', 'http.cache.max_memry', 'port', 'allow_hosts'],
      ['storage', 'http'],
    );
    expect(r).toEqual({ unknown: ['heart_beat_intervall', 'http.cache.max_memry'], refused: [] });
    // A known key of any role the command runs counts as known.
    expect(
      checkKeys(['store_lookup', 'http.auth.api_key', 'group_name'], ['tracker', 'storage', 'http']),
    ).toEqual({
      unknown: [],
      refused: [],
    });
  });

  it('classifies security keys by section and by word', () => {
    for (const k of ['http.auth.x', 'http.jwt.y', 'http.anti_steal.z', 'secret_key', 'my_token', 'apikey'])
      expect(isSecurityKey(k), k).toBe(true);
    for (const k of ['http.cache.max_memory', 'port', 'heart_beat_interval'])
      expect(isSecurityKey(k), k).toBe(false);
    expect(editDistance('apikey', 'api_key')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('names where the key came from in the refusal, and warns as the loaders do', () => {
    expect(() => assertKnownKeys(sets('http.auth.apikey'), ['http'])).toThrow(
      '<command line>: unknown security key http.auth.apikey (did you mean http.auth.api_key?)',
    );
    expect(assertKnownKeys(sets('http.cache.max_memry'), ['http'])).toEqual([
      '<command line>: unknown key http.cache.max_memry (ignored)',
    ]);
  });
});

describe('starting with unknown keys', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('fdfs-keys-');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fdfs start refuses a misspelt security key before anything starts', async () => {
    const base = join(dir, 'start');
    const r = await fdfs([
      'start',
      '--base-path',
      base,
      '--tracker-port',
      '0',
      '--storage-port',
      '0',
      '--http-port',
      '0',
      '--set',
      'http.auth.apikey=0123456789abcdef0123',
    ]);
    expect(r.code).toBe(22);
    expect(r.out).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('http.auth.apikey');
    expect(lines[0]).toContain('did you mean http.auth.api_key?');
    // Nothing ran: not even the data folder or the pid file was made.
    expect(existsSync(base)).toBe(false);
  });

  it('fdfs start warns about any other unknown --set key and runs', async () => {
    const node = await startNode({ args: ['--set', 'heart_beat_intervall=5'] });
    try {
      const warn = node.stderr.map((l) => JSON.parse(l)).find((l) => l.level === 'warn');
      expect(warn?.msg).toBe('<command line>: unknown key heart_beat_intervall (ignored)');
    } finally {
      await node.stop();
    }
  });

  it('fdfs gateway refuses a misspelt security key in its conf file, naming file:line', async () => {
    const conf = join(dir, 'http.conf');
    await writeFile(
      conf,
      `base_path = ${join(dir, 'gw')}\ntracker_server = 127.0.0.1:1\nhttp.server_port = 0\nhttp.jwt.secert = x\n`,
    );
    const r = await fdfs(['gateway', conf]);
    expect(r.code).toBe(22);
    expect(r.stderr.trim().split('\n')).toEqual([
      `fdfs: ${conf}:4: unknown security key http.jwt.secert (did you mean http.jwt.secret?); refusing to start without it (EINVAL)`,
    ]);
    await writeFile(
      conf,
      `base_path = ${join(dir, 'gw')}\ntracker_server = 127.0.0.1:1\nhttp.server_port = 0\n`,
    );
    const set = await fdfs(['gateway', conf, '--set', 'http.auth.api-key=0123456789abcdef0123']);
    expect(set.code).toBe(22);
    expect(set.stderr).toContain('http.auth.api-key');
  });

  it('fdfs storage --http-port refuses a misspelt security key given with --set', async () => {
    const conf = join(dir, 'storage.conf');
    await writeFile(conf, `base_path = ${join(dir, 'st')}\ntracker_server = 127.0.0.1:1\nport = 0\n`);
    const r = await fdfs(['storage', conf, '--http-port', '0', '--set', 'http.anti_steal.secretkey=abc']);
    expect(r.code).toBe(22);
    expect(r.stderr).toContain('did you mean http.anti_steal.secret_key?');
    expect(existsSync(join(dir, 'st'))).toBe(false);
  });
});
