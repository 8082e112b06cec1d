/**
 * The pure half of fdfs s3 import: what each binlog op means for a file, where a file is
 * registered in a range, the checkpoint window and FastDFS metadata as x-amz-meta-*.
 */
import { describe, expect, it } from 'vitest';
import {
  actionsOf,
  CheckpointWindow,
  type ImportLine,
  MAX_META_BYTES,
  RangeSummary,
  s3MetaOf,
} from '../src/s3/import-plan.js';

const A = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
const B = 'M01/0A/FF/wKgAZWHAQjiAAm4PAAFEJ0JhBgk570.log';

const rec = (op: string, name: string, ...extra: string[]) => ({ ts: 1, op, name, extra });

describe('actionsOf', () => {
  it.each([
    ['C', [A], [{ kind: 'create', name: A }]],
    ['c', [A], [{ kind: 'create', name: A }]],
    ['L', [A, B], [{ kind: 'create', name: A }]],
    ['D', [A], [{ kind: 'delete', name: A }]],
    ['d', [A], [{ kind: 'delete', name: A }]],
    ['A', [B, '0', '7'], [{ kind: 'change', name: B }]],
    ['m', [B, '0', '7'], [{ kind: 'change', name: B }]],
    ['T', [B, '7', '0'], [{ kind: 'change', name: B }]],
    ['U', [A], [{ kind: 'change', name: A }]],
    // The metadata sidecar's create, update and delete all change the data file's metadata.
    ['C', [`${A}-m`], [{ kind: 'change', name: A }]],
    ['u', [`${A}-m`], [{ kind: 'change', name: A }]],
    ['D', [`${A}-m`], [{ kind: 'change', name: A }]],
    // R new old: the appender's old name goes, its bytes live on under the new one.
    [
      'R',
      [A, B],
      [
        { kind: 'delete', name: B },
        { kind: 'create', name: A },
      ],
    ],
    ['X', [A], []],
  ])('%s %j', (op, [name, ...extra], want) => {
    expect(actionsOf(rec(op, name ?? '', ...extra), '')).toEqual(want);
  });

  it('keeps only names under the prefix, judged on the data file for a sidecar', () => {
    expect(actionsOf(rec('C', A), 'M00/')).toHaveLength(1);
    expect(actionsOf(rec('C', `${A}-m`), 'M00/')).toEqual([{ kind: 'change', name: A }]);
    expect(actionsOf(rec('C', B), 'M00/')).toEqual([]);
    expect(actionsOf(rec('R', A, B), 'M00/')).toEqual([{ kind: 'create', name: A }]);
    expect(actionsOf(rec('C', A), A)).toHaveLength(1);
  });
});

describe('RangeSummary', () => {
  const lines = (...recs: ReturnType<typeof rec>[]): ImportLine[] =>
    recs.map((record, i) => ({ record, next: { index: 0, offset: (i + 1) * 10 } }));

  it('registers a file at the last line touching it, never a deleted one, and ends at the last line', () => {
    const range = lines(
      rec('C', A), // 0: A has a later change
      rec('C', `${A}-m`), // 1: A's last change
      rec('C', B), // 2: B deleted below
      rec('A', B, '0', '1'), // 3
      rec('D', B), // 4
      rec('C', 'M00/00/01/wKgAZWHAQjiAAm4PAAFEJ0JhBgk571.txt'), // 5: plain
    );
    const s = new RangeSummary({ index: 0, offset: 0 });
    for (const l of range) s.add(l, '');
    expect(s.records).toBe(6);
    expect(s.end).toEqual({ index: 0, offset: 60 });
    const at = (seq: number) =>
      actionsOf(range[seq]?.record ?? rec('X', A), '').map((a) => s.registersAt(a, seq));
    expect([0, 1, 2, 3, 4, 5].map(at)).toEqual([[false], [true], [false], [false], [false], [true]]);
  });

  it('with nothing in range ends where it started', () => {
    const s = new RangeSummary({ index: 2, offset: 99 });
    expect(s.end).toEqual({ index: 2, offset: 99 });
    expect(s.records).toBe(0);
  });
});

describe('CheckpointWindow', () => {
  const pos = (n: number) => ({ index: 0, offset: n });

  it('advances over the finished prefix, whatever order records finish in', () => {
    const w = new CheckpointWindow(pos(0));
    w.finish(1, pos(20), true);
    expect(w.position).toEqual(pos(0));
    w.finish(0, pos(10), true);
    expect(w.position).toEqual(pos(20));
    w.finish(3, pos(40), true);
    w.finish(2, pos(30), true);
    expect(w.position).toEqual(pos(40));
  });

  it('stops for good before the first failed record', () => {
    const w = new CheckpointWindow(pos(5));
    w.finish(0, pos(10), true);
    w.finish(2, pos(30), true);
    w.finish(1, pos(20), false);
    w.finish(3, pos(40), true);
    expect(w.position).toEqual(pos(10));
  });
});

describe('s3MetaOf', () => {
  it('lower-cases names, encodes non-ASCII values as RFC 2047 and drops what S3 cannot carry', () => {
    const { meta, dropped } = s3MetaOf({
      Author: 'Ann',
      title: 'Ünïcode',
      'bad name': 'x',
      AUTHOR: 'twice once lower-cased',
      tab: 'a\tb',
      empty: '',
    });
    expect(meta).toEqual({
      author: 'twice once lower-cased',
      title: `=?UTF-8?B?${Buffer.from('Ünïcode').toString('base64')}?=`,
      tab: `=?UTF-8?B?${Buffer.from('a\tb').toString('base64')}?=`,
      empty: '',
    });
    expect([...dropped].sort()).toEqual(['Author', 'bad name']);
  });

  it('stops at 2 KB of names and values together', () => {
    const big = 'v'.repeat(MAX_META_BYTES - 1);
    expect(s3MetaOf({ a: big }).meta).toEqual({ a: big });
    expect(s3MetaOf({ a: big, b: 'x' })).toEqual({ meta: { a: big }, dropped: ['b'] });
    expect(s3MetaOf({ ab: big }).dropped).toEqual(['ab']);
  });
});
