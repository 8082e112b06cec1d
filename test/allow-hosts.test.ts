/**
 * allow_hosts (issue 8, point 1): the forms FastDFS documents, as a pure table, then real tracker
 * and storage listeners refusing a 127.0.0.x source that is not allowed (closed, logged) while an
 * allowed one is served.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../src/common/index.js';
import {
  allowHostsMatch,
  defaultStorageConfig,
  defaultTrackerConfig,
  parseAllowHostsValue,
  resolveAllowHosts,
} from '../src/config/index.js';
import { Cmd } from '../src/protocol/index.js';
import { startStorage } from '../src/storage/index.js';
import { startTracker } from '../src/tracker/index.js';
import { header } from './helpers/raw-peer.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fdfs-allow-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

function allows(value: string, ip: string): boolean {
  const rules = parseAllowHostsValue(value);
  if (!rules) throw new Error(`not parsed: ${value}`);
  return allowHostsMatch(rules, ip);
}

describe('allow_hosts rules', () => {
  it.each([
    ['*', '203.0.113.7', true],
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.1', '10.0.0.2', false],
    ['10.0.0.1', '::ffff:10.0.0.1', true],
    ['10.0.0.[1-15,20]', '10.0.0.1', true],
    ['10.0.0.[1-15,20]', '10.0.0.15', true],
    ['10.0.0.[1-15,20]', '10.0.0.16', false],
    ['10.0.0.[1-15,20]', '10.0.0.20', true],
    ['10.0.0.[1-15,20]', '10.0.0.200', false],
    ['192.168.5.64/26', '192.168.5.64', true],
    ['192.168.5.64/26', '192.168.5.127', true],
    ['192.168.5.64/26', '192.168.5.128', false],
    ['192.168.5.64/26', '192.168.5.63', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['10.0.0.1, 10.0.0.3', '10.0.0.3', true],
    ['10.0.0.1 10.0.0.3', '10.0.0.2', false],
    ['::1', '::1', true],
    ['::1', '127.0.0.1', false],
  ])('%s allows %s: %s', (value, ip, expected) => {
    expect(allows(value, ip)).toBe(expected);
  });

  it.each(['10.0.0.[1-', '10.0.0.256', '10.0.0.1/33', '1.2.3', '10.0.[1-2].[1-2]', 'bad_host!', ''])(
    'refuses the value %j',
    (value) => {
      expect(parseAllowHostsValue(value)).toBeUndefined();
    },
  );

  it('no allow_hosts allows everyone; a repeated key adds up; a bad value names its line', () => {
    expect(defaultTrackerConfig().config.allowHosts).toEqual([]);
    const { config } = defaultStorageConfig(new Map([['allow_hosts', ['10.0.0.1', '10.0.1.[1-2]']]]));
    expect(config.allowHosts).toHaveLength(3);
    expect(allowHostsMatch(config.allowHosts, '10.0.1.2')).toBe(true);
    expect(allowHostsMatch(config.allowHosts, '10.0.0.2')).toBe(false);
    expect(() => defaultTrackerConfig(new Map([['allow_hosts', ['10.0.0.[1-']]]))).toThrow(/allow_hosts/);
  });

  it('host names (and their bracket ranges) become the addresses they resolve to', async () => {
    const rules = parseAllowHostsValue('host[01-02].example.com') ?? [];
    expect(rules).toEqual([
      { kind: 'host', name: 'host01.example.com' },
      { kind: 'host', name: 'host02.example.com' },
    ]);
    const unresolved: string[] = [];
    const table: Record<string, string[]> = { 'host01.example.com': ['10.1.1.1'] };
    const resolved = await resolveAllowHosts(
      rules,
      async (name) => {
        const found = table[name];
        if (!found) throw new Error('ENOTFOUND');
        return found;
      },
      (name) => unresolved.push(name),
    );
    expect(allowHostsMatch(resolved, '10.1.1.1')).toBe(true);
    expect(allowHostsMatch(resolved, '10.1.1.2')).toBe(false);
    expect(unresolved).toEqual(['host02.example.com']);
    // Only names that resolve to nothing: nobody, never "everyone".
    const none = await resolveAllowHosts(
      [{ kind: 'host', name: 'x.invalid' }],
      async () => [],
      () => {},
    );
    expect(allowHostsMatch(none, '127.0.0.1')).toBe(false);
  });
});

/** ACTIVE_TEST from `from`: 'served' (a reply came), or 'closed' (dropped without one). */
function probe(port: number, from: string): Promise<'served' | 'closed'> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: from });
    const timer = setTimeout(() => reject(new Error('no reply and not closed')), 3000);
    s.once('connect', () => s.write(header(0, Cmd.ACTIVE_TEST)));
    s.once('data', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('served');
    });
    s.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    s.on('error', () => {});
  });
}

function capture(lines: string[]): Logger {
  return createLogger({ level: 'debug', write: (l) => lines.push(l) });
}

describe('allow_hosts on the native ports', () => {
  const rule = '127.0.0.1, 127.0.0.[5-6]';

  it('the tracker closes a connection from a source not allowed, and logs it', async () => {
    const lines: string[] = [];
    const { config } = defaultTrackerConfig(
      new Map([
        ['base_path', [await temp()]],
        ['bind_addr', ['127.0.0.1']],
        ['port', ['0']],
        ['allow_hosts', [rule]],
      ]),
    );
    const t = await startTracker(config, { logger: capture(lines) });
    cleanups.push(() => t.close());
    expect(await probe(t.address.port, '127.0.0.7')).toBe('closed');
    expect(await probe(t.address.port, '127.0.0.6')).toBe('served');
    expect(await probe(t.address.port, '127.0.0.1')).toBe('served');
    const refused = lines.filter((l) => l.includes('not in allow_hosts'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain('127.0.0.7:');
  });

  it('the storage closes a connection from a source not allowed, and logs it', async () => {
    const lines: string[] = [];
    const { config } = defaultStorageConfig(
      new Map([
        ['base_path', [await temp()]],
        ['bind_addr', ['127.0.0.1']],
        ['port', ['0']],
        ['tracker_server', ['127.0.0.254:1']],
        ['durable_writes', ['false']],
        ['subdir_count_per_path', ['4']],
        ['allow_hosts', [rule]],
      ]),
    );
    const node = await startStorage(config, { logger: capture(lines) });
    cleanups.push(() => node.close());
    expect(await probe(node.address.port, '127.0.0.8')).toBe('closed');
    expect(await probe(node.address.port, '127.0.0.5')).toBe('served');
    const refused = lines.filter((l) => l.includes('not in allow_hosts'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain('127.0.0.8:');
  });
});
