/** Where a command writes: the process's own streams, or a test's. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Where answers to a question come from (made when first used); none: nothing can be asked. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}
