/**
 * Crashes the fuzzer has found and that are not fixed yet: a crash whose stderr matches one of
 * these is counted apart (and does not fail a run), with the reason it is tolerated for now.
 * Empty means every crash fails the run.
 */
export interface KnownCrash {
  readonly signature: RegExp;
  readonly reason: string;
}

export const KNOWN_CRASHES: readonly KnownCrash[] = [];
