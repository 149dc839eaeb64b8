export const ExitCode = {
  OK: 0,
  SOME_FAILED: 1,
  REFUSED: 2,
  INTERRUPTED: 130,
} as const;
