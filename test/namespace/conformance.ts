/**
 * The one conformance suite every Namespace store runs (lmdb now, PostgreSQL next), as
 * tus-node-server tests each of its stores: call namespaceConformance(name, factory) from a
 * *.test.ts file.
 */
import { describe } from 'vitest';
import { borrowedCases } from './conformance-borrowed.js';
import { garbageCases } from './conformance-garbage.js';
import { intentCases } from './conformance-intents.js';
import { listingCases } from './conformance-list.js';
import { multipartCases } from './conformance-multipart.js';
import { bucketAndObjectCases } from './conformance-objects.js';
import type { NamespaceFactory } from './fixtures.js';

export type { Handle, NamespaceFactory } from './fixtures.js';

export function namespaceConformance(name: string, factory: NamespaceFactory): void {
  describe(`namespace conformance: ${name}`, () => {
    bucketAndObjectCases(factory);
    listingCases(factory);
    multipartCases(factory);
    garbageCases(factory);
    borrowedCases(factory);
    intentCases(factory);
  });
}
