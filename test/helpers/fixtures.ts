/** Stat records for tests that need one: sensible values, overridden per test. */
import { emptyCounters, type StatCounters, type StorageStat } from '../../src/protocol/index.js';

export function storageStat(
  over: Partial<Omit<StorageStat, 'counters'>> & { counters?: Partial<StatCounters> } = {},
): StorageStat {
  const { counters, ...rest } = over;
  return {
    status: 7,
    rwMode: 6,
    id: '127.0.0.1',
    ip: '127.0.0.1',
    domainName: '',
    srcId: '',
    version: '6.16',
    joinTime: 1,
    upTime: 2,
    totalMb: 100,
    freeMb: 50,
    reservedMb: 0,
    uploadPriority: 10,
    storePathCount: 1,
    subdirCountPerPath: 256,
    currentWritePath: 0,
    storagePort: 23000,
    storageHttpPort: 0,
    ifTrunkServer: false,
    ...rest,
    counters: { ...emptyCounters(), ...counters },
  };
}
