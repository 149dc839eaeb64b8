import type { FileSource } from './storage.js';

/** A FileSource over bytes already in memory (tests, small generated files). */
export function bytesSource(bytes: Uint8Array | string): FileSource {
  const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return {
    async *stream() {
      if (data.length > 0) yield data;
    },
  };
}

/** Reads a whole FileSource into memory; for tests and small files only. */
export async function readAll(source: FileSource): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source.stream()) parts.push(chunk);
  return Buffer.concat(parts);
}
