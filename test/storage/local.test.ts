import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { describeStorageConformance } from './conformance.js';

describeStorageConformance('LocalStorage', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'synctray-conformance-'));
  return { storage: new LocalStorage(root), cleanup: () => fs.rm(root, { recursive: true, force: true }) };
});
