import fs from 'node:fs';
import path from 'node:path';
import type { Entry } from '../../core/entry.js';
import { ErrorCode, StorageError, isStorageError } from '../../core/errors.js';
import { baseName, joinRel, parentOf, type RelPath } from '../../core/rel-path.js';
import { isTempName } from '../../core/temp-name.js';
import type { FolderPut, FoldersPut, LocalFile, PutOptions } from '../storage.js';
import { fromRcloneName, rcloneCanName, toRclonePath } from './names.js';

/** What putFolders needs of the storage: its calls, with rclone's errors already mapped. */
export interface RemoteCalls {
  /** The root `path` of the remote names, as rclone's calls take a root (`nas:backup/docs`). */
  fsOf(path: RelPath): string;
  call<T>(method: string, params: Record<string, unknown>, path?: RelPath): Promise<T>;
  /** Runs an rclone job; resolves with the files it transferred. */
  job(
    method: string,
    params: Record<string, unknown>,
    path: RelPath,
    options?: PutOptions,
  ): Promise<{ transfers: number }>;
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

/**
 * Moves out of the stage never replace what stands at the target: a folder or file that appeared
 * there since the parent was listed is kept, and ours stays in the stage (rclone's own check, in
 * the same call as the move).
 */
const KEEP_WHAT_IS_THERE = { _config: { IgnoreExisting: true } };

let lists = 0;

/**
 * Storage.putFolders for a remote that moves a folder in one step (rclone's DirMove): rclone's own
 * sync/copy takes every file to the stage at once, with its transfers side by side, then each
 * folder is moved out of the stage to its place. Nothing is put at a final name while it is being
 * written, as with one file at a time, at one call a folder instead of four a file.
 */
export async function putFolders(remote: RemoteCalls, put: FolderPut, options: PutOptions = {}): Promise<FoldersPut> {
  // The stage is removed whole at the end: never anything but a temp name of ours.
  if (!isTempName(baseName(put.stage))) throw new TypeError(`not a temp name: ${put.stage}`);
  const parent = parentOf(put.stage);
  const out: FoldersPut = { placed: [], failed: [], left: [] };
  const topOf = (p: RelPath) => put.folders.find((f) => p.startsWith(`${f}/`));
  // A folder whose name rclone cannot keep goes the one-by-one way, which says so.
  const unnamable = new Set(put.folders.filter((f) => !rcloneCanName(f)));
  for (const dir of put.inner) if (!rcloneCanName(dir)) unnamable.add(topOf(dir)!);
  fail(out, [...unnamable], new StorageError(ErrorCode.UNSUPPORTED, 'rclone cannot keep the name'));
  const { going, srcDir, left } = takeable(
    put.files.filter((f) => !unnamable.has(topOf(f.path)!)),
    parent,
  );
  const folders = put.folders.filter((f) => !unnamable.has(f));
  if (srcDir === undefined) {
    fail(out, folders, new StorageError(ErrorCode.UNSUPPORTED, 'no file can go with its folder'));
    out.left = left.filter((f) => topOf(f) === undefined);
    return out;
  }

  try {
    const copied = await copyToStage(remote, put.stage, parent, going, srcDir, options);
    const problem = copied.problem;
    // On Linux rclone reads a plain name as it is: a copy that transferred every file needs no
    // second look. Elsewhere its local names are encoded (Windows, macOS), and the stage is listed.
    const whole = problem === undefined && copied.transfers === going.length && process.platform === 'linux';
    const checked = await checkStage(remote, put, parent, going, !whole);
    left.push(...checked.left);
    fail(out, [...checked.tainted], problem ?? new StorageError(ErrorCode.IO, 'not copied as it is here'));
    const moving = folders.filter((f) => !checked.tainted.has(f));
    const there = new Set((await remote.list(parent)).map((e) => e.name));
    const notGoing = new Set(left);
    const loose = going.filter((f) => topOf(f.path) === undefined && !notGoing.has(f.path));
    await settleAll([
      ...moving.map((folder) => moveFolder(remote, put.stage, folder, there, out, problem)),
      ...loose.map((f) => moveFile(remote, put.stage, f, there, left)),
    ]);
    // What is still in the stage did not reach its place (something stood there by then).
    const stayed = new Set((await remote.list(put.stage).catch(nothingIfGone)).map((e) => e.name));
    fail(
      out,
      out.placed.filter((f) => stayed.has(baseName(f))),
      new StorageError(ErrorCode.EXISTS, 'something is there now'),
    );
    out.placed = out.placed.filter((f) => !stayed.has(baseName(f)));
    const placed = new Set(out.placed);
    const leftNow = new Set(left);
    for (const f of loose) if (stayed.has(baseName(f.path)) && !leftNow.has(f.path)) left.push(f.path);
    out.left = left.filter((file) => {
      const top = topOf(file);
      return top === undefined || placed.has(top);
    });
    return out;
  } finally {
    await remote.call('operations/purge', { fs: remote.fsOf(put.stage), remote: '' }, put.stage).catch(() => {});
  }
}

/**
 * The files rclone can take in one list: plain names (a list is one name a line, and rclone's
 * pictures for control characters are left to the one-by-one path that is tested with them), all
 * from one folder of this machine whose layout is the destination's (not a followed link).
 */
function takeable(
  files: readonly LocalFile[],
  parent: RelPath,
): { going: LocalFile[]; srcDir?: string; left: RelPath[] } {
  const going: LocalFile[] = [];
  const left: RelPath[] = [];
  let srcDir: string | undefined;
  for (const file of files) {
    const rel = within(parent, file.path);
    const tail = path.sep + rel.split('/').join(path.sep);
    const local = path.normalize(file.localPath);
    // The root of a drive keeps its separator: rclone takes no empty root.
    const dir = PLAIN.test(rel) && local.endsWith(tail) ? local.slice(0, -tail.length) || path.sep : undefined;
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
 * Copies the files under the stage. A failure of some files is returned (what got there is found
 * by listing); one of the remote itself is thrown.
 */
async function copyToStage(
  remote: RemoteCalls,
  stage: RelPath,
  parent: RelPath,
  going: readonly LocalFile[],
  srcDir: string,
  options: PutOptions,
): Promise<{ problem?: StorageError; transfers?: number }> {
  const list = path.join(await remote.spool(), `files-${++lists}`);
  await fs.promises.writeFile(list, going.map((f) => `${within(parent, f.path)}\n`).join(''), { mode: 0o600 });
  try {
    const { transfers } = await remote.job(
      'sync/copy',
      // The stage is new: nothing there to look for first (a third less time on small files).
      { srcFs: srcDir, dstFs: remote.fsOf(stage), _filter: { FilesFromRaw: [list] }, _config: { NoCheckDest: true } },
      stage,
      options,
    );
    return { transfers };
  } catch (err) {
    if (!isStorageError(err) || err.fatal) throw err;
    return { problem: err };
  } finally {
    await fs.promises.rm(list, { force: true });
  }
}

/**
 * Looks at the stage: a file whose source is not as listed any more (it changed while it was
 * copied) is left, and removed from the stage. With `list`, the stage is listed, whatever rclone
 * said: a file not there with its size is left too, and a folder holding a name that was not sent
 * (one rclone wrote otherwise) is tainted, not to be put. Folders missing are made (empty ones, or
 * ones whose files all failed).
 */
async function checkStage(
  remote: RemoteCalls,
  put: FolderPut,
  parent: RelPath,
  going: readonly LocalFile[],
  list: boolean,
): Promise<{ left: RelPath[]; tainted: Set<RelPath> }> {
  const stageFs = remote.fsOf(put.stage);
  const staged = list ? await listStage(remote, put.stage) : sentAsListed(parent, going);
  const expected = new Map(going.map((f) => [within(parent, f.path), f]));
  const tainted = new Set<RelPath>();
  for (const [rel, item] of staged)
    if (!item.IsDir && !expected.has(rel)) {
      const top = put.folders.find((f) => `${parent === '' ? '' : `${parent}/`}${rel}`.startsWith(`${f}/`));
      if (top !== undefined) tainted.add(top);
    }
  const now = await Promise.all(going.map((f) => fs.promises.lstat(f.localPath, { bigint: true }).catch(() => null)));
  const left: RelPath[] = [];
  for (const [i, f] of going.entries()) {
    const rel = within(parent, f.path);
    const st = now[i];
    const there = staged.get(rel);
    if (there?.Size === f.size && st && Number(st.size) === f.size && st.mtimeNs === f.mtimeNs) continue;
    left.push(f.path);
    if (there !== undefined)
      await remote.call('operations/deletefile', { fs: stageFs, remote: toRclonePath(rel) }, f.path);
  }
  for (const dir of [...put.folders, ...put.inner])
    if (!staged.has(within(parent, dir)))
      await remote.call('operations/mkdir', { fs: stageFs, remote: toRclonePath(within(parent, dir)) }, dir);
  return { left, tainted };
}

/** The stage as listed: paths from it (as they are named here) with their items. */
async function listStage(remote: RemoteCalls, stage: RelPath): Promise<Map<RelPath, Listed>> {
  const staged = new Map<RelPath, Listed>();
  try {
    const { list } = await remote.call<{ list: Listed[] }>(
      'operations/list',
      { fs: remote.fsOf(stage), remote: '', opt: { recurse: true, noMimeType: true, noModTime: true } },
      stage,
    );
    for (const item of list) staged.set(item.Path.split('/').map(fromRcloneName).join('/'), item);
  } catch (err) {
    // Nothing copied at all: no stage.
    if (!isStorageError(err, ErrorCode.NOT_FOUND)) throw err;
  }
  return staged;
}

/** The stage as a copy that sent every file left it: each file, and the folders holding them. */
function sentAsListed(parent: RelPath, going: readonly LocalFile[]): Map<RelPath, Listed> {
  const staged = new Map<RelPath, Listed>();
  for (const f of going) {
    const rel = within(parent, f.path);
    staged.set(rel, { Path: rel, Size: f.size, IsDir: false });
    for (let dir = parentOf(rel); dir !== ''; dir = parentOf(dir)) staged.set(dir, { Path: dir, Size: 0, IsDir: true });
  }
  return staged;
}

/** Moves a folder out of the stage to its place, in one step where nothing stands there. */
async function moveFolder(
  remote: RemoteCalls,
  stage: RelPath,
  folder: RelPath,
  there: ReadonlySet<string>,
  out: FoldersPut,
  problem: StorageError | undefined,
): Promise<void> {
  const name = baseName(folder);
  try {
    if (there.has(name)) throw new StorageError(ErrorCode.EXISTS, `${folder}: something is there now`, folder);
    // One rename on the server: short enough to be waited for even when the run is stopped.
    await remote.call(
      'sync/move',
      {
        srcFs: remote.fsOf(joinRel(stage, name)),
        dstFs: remote.fsOf(folder),
        createEmptySrcDirs: true,
        deleteEmptySrcDirs: true,
        ...KEEP_WHAT_IS_THERE,
      },
      folder,
    );
    out.placed.push(folder);
  } catch (err) {
    if (!isStorageError(err) || err.fatal) throw err;
    out.failed.push({ path: folder, error: problem ?? err });
  }
}

/** Moves a new file of the parent itself out of the stage, where nothing stands at its name. */
async function moveFile(
  remote: RemoteCalls,
  stage: RelPath,
  f: LocalFile,
  there: ReadonlySet<string>,
  left: RelPath[],
): Promise<void> {
  const name = baseName(f.path);
  if (there.has(name)) return void left.push(f.path);
  try {
    await remote.call(
      'operations/movefile',
      {
        srcFs: remote.fsOf(''),
        srcRemote: toRclonePath(joinRel(stage, name)),
        dstFs: remote.fsOf(''),
        dstRemote: toRclonePath(f.path),
        ...KEEP_WHAT_IS_THERE,
      },
      f.path,
    );
  } catch (err) {
    if (!isStorageError(err) || err.fatal) throw err;
    left.push(f.path);
  }
}

/** Waits for every move (none is left running behind the stage's removal), then throws the first failure. */
async function settleAll(moves: readonly Promise<void>[]): Promise<void> {
  const settled = await Promise.allSettled(moves);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
}

function nothingIfGone(err: unknown): Entry[] {
  if (isStorageError(err, ErrorCode.NOT_FOUND)) return [];
  throw err;
}

function fail(out: FoldersPut, folders: readonly RelPath[], error: StorageError): void {
  for (const path of folders) out.failed.push({ path, error });
}

function within(parent: RelPath, p: RelPath): RelPath {
  return parent === '' ? p : p.slice(parent.length + 1);
}
