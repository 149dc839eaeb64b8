import fs from 'node:fs';
import path from 'node:path';
import type { Entry } from '../../core/entry.js';
import { ErrorCode, StorageError, isStorageError } from '../../core/errors.js';
import { baseName, joinRel, parentOf, type RelPath } from '../../core/rel-path.js';
import type { FolderPut, FoldersPut, LocalFile, PutOptions } from '../storage.js';
import { fromRcloneName, toRclonePath } from './names.js';

/** What putFolders needs of the storage: its calls, with rclone's errors already mapped. */
export interface RemoteCalls {
  /** The root `path` of the remote names, as rclone's calls take a root (`nas:backup/docs`). */
  fsOf(path: RelPath): string;
  call<T>(method: string, params: Record<string, unknown>, path?: RelPath): Promise<T>;
  job(method: string, params: Record<string, unknown>, path: RelPath, options?: PutOptions): Promise<void>;
  list(dir: RelPath): Promise<Entry[]>;
  /** A private folder of this machine for the file list. */
  spool(): Promise<string>;
}

/** What operations/list gives with `recurse`: paths from the listed root, in rclone's names. */
interface Listed {
  Path: string;
  Size: number;
  IsDir: boolean;
}

let lists = 0;

/**
 * Storage.putFolders for a remote that moves a folder in one step (rclone's DirMove): rclone's own
 * sync/copy takes every file to the stage at once, with its transfers side by side, then each
 * folder is moved out of the stage to its place. Nothing is put at a final name while it is being
 * written, as with one file at a time, at one call a folder instead of four a file.
 */
export async function putFolders(remote: RemoteCalls, put: FolderPut, options: PutOptions = {}): Promise<FoldersPut> {
  // The stage is removed whole at the end: never anything but a temp name of ours.
  if (!baseName(put.stage).startsWith('.~synctray-')) throw new TypeError(`not a temp name: ${put.stage}`);
  const parent = parentOf(put.stage);
  const { going, srcDir, left } = takeable(put, parent);
  if (srcDir === undefined) return allFailed(put, 'no file can go with its folder');

  try {
    const problem = await copyToStage(remote, put, parent, going, srcDir, options);
    left.push(...(await notAsExpected(remote, put.stage, parent, going, problem !== undefined)));
    const there = new Set((await remote.list(parent)).map((e) => e.name));
    const result: FoldersPut = { placed: [], failed: [], left: [] };
    await Promise.all(
      put.folders.map(async (folder) => {
        const name = baseName(folder);
        try {
          // rclone would put the files one by one into a folder that stands there.
          if (there.has(name)) throw new StorageError(ErrorCode.EXISTS, `${folder}: something is there now`, folder);
          // One rename on the server: short enough to be waited for even when the run is stopped.
          await remote.call(
            'sync/move',
            {
              srcFs: remote.fsOf(joinRel(put.stage, name)),
              dstFs: remote.fsOf(folder),
              createEmptySrcDirs: true,
              deleteEmptySrcDirs: true,
            },
            folder,
          );
          result.placed.push(folder);
        } catch (err) {
          if (!isStorageError(err)) throw err;
          result.failed.push({ path: folder, error: problem ?? err });
        }
      }),
    );
    const placed = new Set(result.placed);
    result.left = left.filter((file) => put.folders.some((f) => placed.has(f) && file.startsWith(`${f}/`)));
    return result;
  } finally {
    await remote.call('operations/purge', { fs: remote.fsOf(put.stage), remote: '' }, put.stage).catch(() => {});
  }
}

/**
 * The files rclone can take in one list: plain names (a list is one name a line, and rclone's
 * pictures for control characters are left to the one-by-one path that is tested with them), all
 * from one folder of this machine whose layout is the destination's (not a followed link).
 */
function takeable(put: FolderPut, parent: RelPath): { going: LocalFile[]; srcDir?: string; left: RelPath[] } {
  const going: LocalFile[] = [];
  const left: RelPath[] = [];
  let srcDir: string | undefined;
  for (const file of put.files) {
    const rel = within(parent, file.path);
    const tail = path.sep + rel.split('/').join(path.sep);
    const dir = PLAIN.test(rel) && file.localPath.endsWith(tail) ? file.localPath.slice(0, -tail.length) : undefined;
    if (dir === undefined || (srcDir !== undefined && dir !== srcDir)) {
      left.push(file.path);
      continue;
    }
    srcDir = dir;
    going.push(file);
  }
  return { going, srcDir, left };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const PLAIN = /^[^\x00-\x1f\x7f\u2400-\u243f\u201b]+$/u;

/**
 * Copies the files, and makes the folders that hold none, under the stage. A failure of some
 * files is returned (what got there is found by listing); one of the remote itself is thrown.
 */
async function copyToStage(
  remote: RemoteCalls,
  put: FolderPut,
  parent: RelPath,
  going: readonly LocalFile[],
  srcDir: string,
  options: PutOptions,
): Promise<StorageError | undefined> {
  const list = path.join(await remote.spool(), `files-${++lists}`);
  await fs.promises.writeFile(list, going.map((f) => `${within(parent, f.path)}\n`).join(''), { mode: 0o600 });
  try {
    await remote.job(
      'sync/copy',
      // The stage is new: nothing there to look for first (a third less time on small files).
      {
        srcFs: srcDir,
        dstFs: remote.fsOf(put.stage),
        _filter: { FilesFromRaw: [list] },
        _config: { NoCheckDest: true },
      },
      put.stage,
      options,
    );
  } catch (err) {
    if (!isStorageError(err) || err.fatal) throw err;
    return err;
  } finally {
    await fs.promises.rm(list, { force: true });
  }
  const holding = new Set<RelPath>();
  for (const f of going) for (let dir = parentOf(f.path); dir !== parent; dir = parentOf(dir)) holding.add(dir);
  const empty = [...put.folders, ...put.inner].filter((dir) => !holding.has(dir));
  for (const dir of empty)
    await remote.call(
      'operations/mkdir',
      { fs: remote.fsOf(put.stage), remote: toRclonePath(within(parent, dir)) },
      dir,
    );
  return undefined;
}

/**
 * The files that did not reach the stage as they are now on this machine (changed since they were
 * listed, or not copied where the copy failed in part): removed from the stage, to be copied one
 * by one. rclone checks each copy's size (and hash where both sides have one) before it counts it
 * done, so after a copy that succeeded the stage is not listed again.
 */
async function notAsExpected(
  remote: RemoteCalls,
  stage: RelPath,
  parent: RelPath,
  going: readonly LocalFile[],
  failedInPart: boolean,
): Promise<RelPath[]> {
  let sizes: Map<RelPath, number> | undefined;
  if (failedInPart) {
    const { list } = await remote.call<{ list: Listed[] }>(
      'operations/list',
      { fs: remote.fsOf(stage), remote: '', opt: { recurse: true, noMimeType: true, filesOnly: true } },
      stage,
    );
    sizes = new Map(list.map((item) => [item.Path.split('/').map(fromRcloneName).join('/'), item.Size]));
  }
  const now = await Promise.all(going.map((f) => fs.promises.lstat(f.localPath, { bigint: true }).catch(() => null)));
  const out: RelPath[] = [];
  for (const [i, f] of going.entries()) {
    const rel = within(parent, f.path);
    const st = now[i];
    const copied = sizes === undefined || sizes.get(rel) === f.size;
    if (copied && st && Number(st.size) === f.size && st.mtimeNs === f.mtimeNs) continue;
    out.push(f.path);
    if (sizes === undefined || sizes.has(rel))
      await remote
        .call('operations/deletefile', { fs: remote.fsOf(stage), remote: toRclonePath(rel) }, f.path)
        .catch((err: unknown) => {
          if (!isStorageError(err, ErrorCode.NOT_FOUND)) throw err;
        });
  }
  return out;
}

function within(parent: RelPath, p: RelPath): RelPath {
  return parent === '' ? p : p.slice(parent.length + 1);
}

function allFailed(put: FolderPut, why: string): FoldersPut {
  const error = new StorageError(ErrorCode.UNSUPPORTED, why);
  return { placed: [], failed: put.folders.map((path) => ({ path, error })), left: [] };
}
