/** Records and configs for tests that need one: sensible values, overridden per test. */
import { defaultTrackerConfig } from '../../src/config/index.js';
import type { TrackerConfig } from '../../src/config/types.js';
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

/**
 * A tracker config for in-process tests: the loader's defaults (so it tracks the real ones),
 * on 127.0.0.1 port 0, round-robin groups, no reserved space, a small connection cap.
 */
export function testTrackerConfig(basePath: string, over: Partial<TrackerConfig> = {}): TrackerConfig {
  return {
    ...defaultTrackerConfig(new Map([['base_path', [basePath]]])).config,
    bindAddr: '127.0.0.1',
    port: 0,
    maxConnections: 64,
    storeLookup: 0,
    reservedStorageSpace: { kind: 'bytes', bytes: 0 },
    ...over,
  };
}
