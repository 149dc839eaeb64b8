#!/usr/bin/env node
// The bin: Node's compile cache first, then the commands (commands.ts), which are compiled from
// the cache from the second run on. Nothing else is imported before the cache is on.
import { enableCompileCache } from './compile-cache.js';

/** Set by the single-binary build (build/build-binary.mjs), which carries a code cache of its own. */
declare const SYNCTRAY_BINARY_ID: string | undefined;

if (typeof SYNCTRAY_BINARY_ID !== 'string') enableCompileCache();

// Not a top-level await: the single binary runs this as CommonJS.
import('./commands.js').then(
  ({ start }) => start(),
  (err: unknown) => {
    process.stderr.write(
      `synctray: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 70;
  },
);
