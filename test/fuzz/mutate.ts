/** Mutations of one packet (header + body): lengths, fields, truncation, extension, bytes. */
import type { Rng } from '../harness/rng.js';
import type { Packet } from './native-seeds.js';

/** Storage commands that change or remove a named file. */
const WRITES = new Set([12, 13, 16, 17, 18, 19, 24, 25, 34, 35, 36, 37, 38, 40]);

const LENGTHS = [
  -1n,
  0n,
  1n,
  9n,
  15n,
  16n,
  255n,
  65_536n,
  262_145n,
  2n ** 31n,
  2n ** 40n,
  2n ** 62n,
  -(2n ** 63n),
];

export interface Wire {
  /** The bytes to send. */
  readonly bytes: Buffer;
  /** What was done, for a reproducible crash report. */
  readonly how: string;
}

function header(length: bigint, cmd: number, status: number): Buffer {
  const b = Buffer.alloc(10);
  b.writeBigInt64BE(BigInt.asIntN(64, length), 0);
  b[8] = cmd & 0xff;
  b[9] = status & 0xff;
  return b;
}

export function encode(p: Packet): Buffer {
  return Buffer.concat([header(BigInt(p.body.length), p.cmd, 0), p.body]);
}

/** One packet, mutated with probability `rate` (kinds picked by the rng). */
export function mutate(rng: Rng, p: Packet, rate: number): Wire {
  if (!rng.chance(rate)) return { bytes: encode(p), how: `cmd ${p.cmd} valid` };
  let body = Buffer.from(p.body);
  let length = BigInt(body.length);
  let cmd = p.cmd;
  let status = 0;
  const steps: string[] = [];
  const n = rng.int(1, 3);
  for (let i = 0; i < n; i++) {
    switch (rng.int(0, 8)) {
      case 0: {
        const k = rng.chance(0.5) ? rng.pick(LENGTHS) : length + BigInt(rng.int(-20, 20));
        length = k;
        steps.push(`len=${k}`);
        break;
      }
      case 1:
        cmd = rng.chance(0.5) ? rng.int(0, 255) : cmd + rng.int(-2, 2);
        // Found by a long run: 22 → 12 is a well-formed delete of the canary, the fuzzer's doing.
        if (p.readsCanary && WRITES.has(cmd & 0xff)) cmd = p.cmd;
        steps.push(`cmd=${cmd & 0xff}`);
        break;
      case 2:
        status = rng.int(1, 255);
        steps.push(`status=${status}`);
        break;
      case 3: {
        if (body.length === 0) break;
        const flips = rng.int(1, 8);
        for (let f = 0; f < flips; f++) {
          const at = rng.int(0, body.length - 1);
          body[at] = rng.chance(0.5) ? rng.int(0, 255) : (body[at] ?? 0) ^ (1 << rng.int(0, 7));
        }
        steps.push(`flip${flips}`);
        break;
      }
      case 4: {
        const cut = rng.int(0, body.length);
        body = body.subarray(0, cut);
        if (rng.chance(0.5)) length = BigInt(cut);
        steps.push(`trunc=${cut}`);
        break;
      }
      case 5: {
        const extra = rng.bytes(rng.pick([1, 8, 100, 4096]));
        body = Buffer.concat([body, extra]);
        if (rng.chance(0.5)) length = BigInt(body.length);
        steps.push(`ext+${extra.length}`);
        break;
      }
      case 6: {
        if (body.length === 0) break;
        const at = rng.int(0, body.length - 1);
        const len = rng.int(1, Math.min(16, body.length - at));
        body.fill(rng.pick([0, 0xff, 0x2f, 0x2e, 0x01, 0x02]), at, at + len);
        steps.push(`fill@${at}+${len}`);
        break;
      }
      case 7: {
        // An int64 field (size, offset, length) set to an edge value.
        if (body.length < 8) break;
        const at = rng.int(0, body.length - 8);
        body.writeBigInt64BE(BigInt.asIntN(64, rng.pick(LENGTHS)), at);
        steps.push(`int64@${at}`);
        break;
      }
      default: {
        const at = rng.int(0, body.length);
        body = Buffer.concat([body.subarray(0, at), rng.bytes(rng.int(1, 32)), body.subarray(at)]);
        length = BigInt(body.length);
        steps.push(`ins@${at}`);
      }
    }
  }
  return {
    bytes: Buffer.concat([header(length, cmd, status), body]),
    how: `cmd ${p.cmd} ${steps.join(',')}`,
  };
}
