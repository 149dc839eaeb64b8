/** Bad command-line input: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  /** The command whose --help the message points at (`pair add`); set where it is known. */
  constructor(
    message: string,
    public command?: string,
  ) {
    super(message);
  }
}
