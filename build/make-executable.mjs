// tsc does not keep the execute bit; the package's bin needs it on POSIX systems.
import { chmodSync } from 'node:fs';

if (process.platform !== 'win32') chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
