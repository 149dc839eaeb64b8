/**
 * Files the local backend loads at run time besides its code: the native library and the fs
 * worker's script. Unless told otherwise they are looked for where the build puts them (native.ts,
 * fs-pool.ts); a package that carries them elsewhere (the single binary, which extracts them)
 * says where before the first local folder is opened. Each is asked for only when first needed.
 */
export interface BundledFiles {
  nativeLibrary?: () => string;
  fsWorker?: () => URL;
}

let told: BundledFiles = {};

/** Where the native library and the worker's script are, for this thread from now on. */
export function locateBundledFiles(files: BundledFiles): void {
  told = files;
}

export function bundledFiles(): BundledFiles {
  return told;
}
