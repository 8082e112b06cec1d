// Vitest setup for `npm run mutate`: only the pure, in-process unit tests of the mutated modules.
// Tests that spawn processes or open sockets would make every mutant cost seconds, and they
// cannot see more of these modules than the table-driven tests already do.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export default defineConfig({
  root,
  test: {
    include: [
      'test/protocol.test.ts',
      'test/fileid.test.ts',
      'test/config.test.ts',
      'test/gateway-unit.test.ts',
      // Unit tests of config/storage-ids.ts and config/allow-hosts.ts; they also start servers
      // in-process (no child processes), and only the tests covering a mutant run for it.
      'test/replication-unit.test.ts',
      'test/allow-hosts.test.ts',
      // S3 signature, aws-chunked decoding and checksums: pure, or an in-process http server.
      'test/s3-sigv4.test.ts',
      'test/s3-chunked.test.ts',
      'test/s3-checksum.test.ts',
      'test/s3-sigv4-sdk.test.ts',
      'test/*-mutants.test.ts',
    ],
    testTimeout: 10000,
  },
});
