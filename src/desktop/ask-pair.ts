import os from 'node:os';
import path from 'node:path';
import type { SyncMode } from '../core/modes.js';
import type { AdbDevice } from '../storage/adb/devices.js';
import type { RcloneRemote } from '../storage/rclone/list-remotes.js';
import type { Dialogs } from './dialogs.js';

/** What the user chose, nothing (cancelled at some step), or that no dialog tool could ask. */
export type Asked =
  | { source: string; destination: string; mode: SyncMode }
  | { cancelled: true }
  | { unavailable: string };

const MODES: [SyncMode, string][] = [
  ['mirror', 'An exact copy: files deleted from the source are deleted from the destination too'],
  ['update', 'Copy new and changed files; never delete anything in the destination'],
  ['missing', 'Copy only files the destination lacks; never overwrite or delete'],
];

/** A phone backup keeps what was deleted on the phone (to make room) unless told otherwise. */
const PHONE_MODES: [SyncMode, string][] = [MODES[1]!, MODES[0]!, MODES[2]!];

/** Folders people keep in sync with a phone; `to` ones go from this computer to the phone. */
const PRESETS: { key: string; label: string; path?: string; to?: boolean }[] = [
  { key: 'camera', label: 'Back up the camera (DCIM: photos and videos) to this computer', path: '/sdcard/DCIM' },
  { key: 'pictures', label: 'Back up Pictures (screenshots, saved images) to this computer', path: '/sdcard/Pictures' },
  { key: 'download', label: 'Back up Download to this computer', path: '/sdcard/Download' },
  { key: 'music', label: 'Copy music from this computer to the phone (Music)', path: '/sdcard/Music', to: true },
  { key: 'from-other', label: 'Back up another folder of the phone…' },
  { key: 'to-other', label: 'Copy a folder of this computer to another folder of the phone…', to: true },
];

type Step<T> = { value: T } | { cancelled: true } | { unavailable: string };

function step(answer: Awaited<ReturnType<Dialogs['folder']>>): Step<string> {
  if (answer.ok) return { value: answer.value };
  return answer.cancelled ? { cancelled: true } : { unavailable: answer.unavailable };
}

/** Where a folder pair's destination is: a folder here (a picker), or a remote of rclone's. */
const WHERE: [string, string][] = [
  ['A folder', 'On this computer, or on a drive plugged into it'],
  ['A remote (rclone)…', "A NAS or cloud storage set up with 'rclone config'"],
];

/**
 * Source picker, then where the backup goes: a folder (a picker) or a remote (see askRemote);
 * then the mode. `remotes` lists the user's rclone remotes, or fails saying why it cannot.
 */
export async function askFolderPair(d: Dialogs, remotes: () => Promise<RcloneRemote[]>): Promise<Asked> {
  const source = step(await d.folder('SyncTray: choose the folder to back up', os.homedir()));
  if (!('value' in source)) return source;
  const where = step(await d.choose('SyncTray: where to back up', `Where should ${source.value} go?`, WHERE));
  if (!('value' in where)) return where;
  const destination =
    where.value === WHERE[0]![0]
      ? step(await d.folder(`SyncTray: choose where to back up ${source.value}`, os.homedir()))
      : await askRemote(d, source.value, remotes);
  if (!('value' in destination)) return destination;
  const mode = step(await d.choose('SyncTray: how to sync', `${source.value} → ${destination.value}`, MODES));
  if (!('value' in mode)) return mode;
  return { source: source.value, destination: destination.value, mode: mode.value as SyncMode };
}

/**
 * A remote of the user's (a list), then a folder on it (typed: rclone has no picker), as the
 * location `rclone:REMOTE:PATH` that `pair add` takes. No rclone, or no remote yet: a message says
 * what to do, and nothing is added.
 */
async function askRemote(d: Dialogs, source: string, remotes: () => Promise<RcloneRemote[]>): Promise<Step<string>> {
  let all: RcloneRemote[];
  try {
    all = await remotes();
  } catch (err) {
    return told(await d.message('SyncTray: rclone', (err as Error).message));
  }
  if (all.length === 0)
    return told(
      await d.message(
        'SyncTray: no rclone remote yet',
        "rclone has no remote set up yet. Set one up with 'rclone config' (a NAS over SFTP, SMB or WebDAV, or " +
          'cloud storage), then add the pair again.',
      ),
    );
  const remote = step(
    await d.choose(
      'SyncTray: which remote',
      `The remote to back up ${source} to:`,
      all.map((r) => [r.name, r.type]),
    ),
  );
  if (!('value' in remote)) return remote;
  const folder = step(
    await d.entry(
      `SyncTray: a folder on ${remote.value}`,
      `The folder on ${remote.value} to back up into (its path on the remote; made if it is not there):`,
      path.basename(source),
    ),
  );
  if (!('value' in folder)) return folder;
  return { value: `rclone:${remote.value}:${folder.value.trim()}` };
}

/** After a message in place of a question: nothing chosen, or no dialog tool to say it with. */
function told(answer: Awaited<ReturnType<Dialogs['message']>>): Step<string> {
  return 'unavailable' in answer ? { unavailable: answer.unavailable } : { cancelled: true };
}

/**
 * The phone (when several are connected), what to sync (a usual folder, or one typed in), the
 * folder on this computer, and the mode. `phones` are the connected, authorized ones.
 */
export async function askPhonePair(d: Dialogs, phones: AdbDevice[]): Promise<Asked> {
  const nameOf = (p: AdbDevice) => p.model ?? p.serial;
  let phone = phones[0]!;
  if (phones.length > 1) {
    // Numbered: serials hold colons, which some platforms' lists cannot return.
    const which = step(
      await d.choose(
        'SyncTray: which phone',
        'Several phones are connected:',
        phones.map((p, i) => [String(i + 1), `${nameOf(p)} (${p.serial})`]),
      ),
    );
    if (!('value' in which)) return which;
    phone = phones[Number(which.value) - 1]!;
  }
  const what = step(
    await d.choose(
      `SyncTray: ${nameOf(phone)}`,
      'What should SyncTray keep in sync with this phone?',
      PRESETS.map((p) => [p.key, p.label]),
    ),
  );
  if (!('value' in what)) return what;
  const preset = PRESETS.find((p) => p.key === what.value)!;
  let phonePath = preset.path;
  if (!phonePath) {
    const typed = step(
      await d.entry(`SyncTray: a folder on ${nameOf(phone)}`, 'The folder on the phone (its full path):', '/sdcard/'),
    );
    if (!('value' in typed)) return typed;
    phonePath = typed.value.trim();
  }
  const onPhone = `adb:${phone.serial}:${phonePath}`;
  const local = step(
    await d.folder(
      preset.to
        ? `SyncTray: choose the folder to copy to ${nameOf(phone)}`
        : `SyncTray: choose where to back up ${phonePath} of ${nameOf(phone)}`,
      os.homedir(),
    ),
  );
  if (!('value' in local)) return local;
  const [source, destination] = preset.to ? [local.value, onPhone] : [onPhone, local.value];
  const mode = step(
    await d.choose('SyncTray: how to sync', `${source} → ${destination}`, preset.to ? MODES : PHONE_MODES),
  );
  if (!('value' in mode)) return mode;
  return { source, destination, mode: mode.value as SyncMode };
}
