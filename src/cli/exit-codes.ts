export const ExitCode = {
  OK: 0,
  SOME_FAILED: 1,
  REFUSED: 2,
  /** Bad command-line input; the same status as a refusal, as rsync and GNU tools have it. */
  USAGE: 2,
  INTERRUPTED: 130,
} as const;
