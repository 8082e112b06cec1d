/**
 * The push window's ordering rules, driven by lanes whose answers the test releases by hand:
 * records of one file stay in order on one lane, the mark moves over acknowledged records in
 * binlog order only, a failure stops it at the failed record, and a rename waits for idle lanes.
 */
import { describe, expect, it } from 'vitest';
import type { BinlogPosition, BinlogRecord } from '../src/storage/sync/record.js';
import type { SendResult } from '../src/storage/sync/send.js';
import { type Lane, PushWindow } from '../src/storage/sync/window.js';

interface Call {
  readonly lane: number;
  readonly r: BinlogRecord;
  answer(err?: Error): void;
}

function rig(lanes: number, depth = 16) {
  const calls: Call[] = [];
  const acked: number[] = [];
  const failed: string[] = [];
  const ls: Lane[] = Array.from({ length: lanes }, (_, lane) => ({
    record: (r) =>
      new Promise<SendResult>((res, rej) => {
        calls.push({ lane, r, answer: (err) => (err ? rej(err) : res({ sent: true, bytes: 1 })) });
      }),
  }));
  const w = new PushWindow(ls, depth, {
    sent: () => {},
    failed: (r) => failed.push(r.name),
    acked: (next) => acked.push(next.offset),
  });
  return { w, calls, acked, failed };
}

const rec = (op: string, file: number, suffix = ''): BinlogRecord => ({
  ts: 1_700_000_000,
  op,
  name: `M00/00/00/file${file}.bin${suffix}`,
  extra: [],
});
const at = (offset: number): BinlogPosition => ({ index: 0, offset });
const turn = () => new Promise((res) => setImmediate(res));

describe('push window', () => {
  it('acknowledges in binlog order even when later records finish first', async () => {
    const { w, calls, acked } = rig(4);
    // Files chosen to land on different lanes.
    const files = [1, 2, 3, 4, 5, 6, 7, 8];
    for (const [i, f] of files.entries()) await w.push(rec('C', f), at(i + 1), 1);
    await turn();
    const busy = new Set(calls.map((c) => c.lane));
    expect(busy.size).toBeGreaterThan(1);
    // Answer every started call but the first record's: nothing may be acknowledged yet.
    const first = calls.find((c) => c.r.name.includes('file1.'));
    for (const c of calls.filter((c) => c !== first)) c.answer();
    await turn();
    expect(acked).toEqual([]);
    first?.answer();
    for (let i = 0; i < 10 && acked.length < files.length; i++) {
      await turn();
      for (const c of calls) c.answer();
    }
    await w.drain();
    expect(acked).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('keeps a file and its sidecar on one lane, one record after another', async () => {
    const { w, calls } = rig(4);
    await w.push(rec('C', 9), at(1), 1);
    await w.push(rec('U', 9, '-m'), at(2), 1);
    await w.push(rec('D', 9), at(3), 1);
    await turn();
    // Only the first is under way: the others wait behind it on the same lane.
    expect(calls.map((c) => c.r.op)).toEqual(['C']);
    calls[0]?.answer();
    await turn();
    expect(calls.map((c) => c.r.op)).toEqual(['C', 'U']);
    expect(new Set(calls.map((c) => c.lane)).size).toBe(1);
    calls[1]?.answer();
    await turn();
    calls[2]?.answer();
    await w.drain();
    expect(calls.map((c) => c.r.op)).toEqual(['C', 'U', 'D']);
  });

  it('stops the mark at a failed record and throws its error', async () => {
    const { w, calls, acked, failed } = rig(4);
    for (let i = 1; i <= 6; i++) await w.push(rec('C', i), at(i), 1);
    await turn();
    const third = calls.find((c) => c.r.name.includes('file3.'));
    for (const c of calls) c.answer(c === third ? new Error('link broke') : undefined);
    for (let i = 0; i < 10; i++) {
      await turn();
      for (const c of calls) c.answer();
    }
    await expect(w.drain()).rejects.toThrow('link broke');
    expect(failed).toEqual(['M00/00/00/file3.bin']);
    expect(acked).toEqual([1, 2]);
    await expect(w.push(rec('C', 7), at(7), 1)).rejects.toThrow('link broke');
  });

  it('a rename waits until every lane is idle', async () => {
    const { w, calls } = rig(4);
    await w.push(rec('C', 1), at(1), 1);
    await w.push(rec('C', 2), at(2), 1);
    const renaming = w.push({ ...rec('R', 3), extra: ['M00/00/00/file1.bin'] }, at(3), 1);
    await turn();
    expect(calls.map((c) => c.r.op)).toEqual(['C', 'C']);
    calls[0]?.answer();
    await turn();
    expect(calls.some((c) => c.r.op === 'R')).toBe(false);
    calls[1]?.answer();
    await renaming;
    await turn();
    expect(calls.map((c) => c.r.op)).toEqual(['C', 'C', 'R']);
    calls[2]?.answer();
    await w.drain();
  });

  it('holds at most `depth` records in flight', async () => {
    const { w, calls } = rig(2, 3);
    let queued = 0;
    const pushing = (async () => {
      for (let i = 1; i <= 5; i++) {
        await w.push(rec('C', i), at(i), 1);
        queued++;
      }
    })();
    await turn();
    expect(queued).toBe(3);
    for (let i = 0; i < 10 && queued < 5; i++) {
      for (const c of calls) c.answer();
      await turn();
    }
    await pushing;
    for (let i = 0; i < 5; i++) {
      for (const c of calls) c.answer();
      await turn();
    }
    await w.drain();
    expect(queued).toBe(5);
  });
});
