export const ExitCode = {
  OK: 0,
  SOME_FAILED: 1,
  /**
   * The user answered no to a question (or gave no answer): nothing was done. 1 as apt-get has it
   * after "Abort.": what was asked for did not happen, and the tool refused nothing (that is 2).
   */
  DECLINED: 1,
  REFUSED: 2,
  /** Bad command-line input; the same status as a refusal, as rsync and GNU tools have it. */
  USAGE: 2,
  /** `status`: SyncTray is not running (as `systemctl status` says of a stopped unit). */
  NOT_RUNNING: 3,
  /** A failure no command expected, a bug most likely (sysexits' EX_SOFTWARE). */
  INTERNAL: 70,
  INTERRUPTED: 130,
} as const;
