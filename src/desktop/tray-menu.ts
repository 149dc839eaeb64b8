import { formatAgo, formatBytes, formatCount, formatUntil, formatVersionsSpace } from '../core/format.js';
import { transferLimitsText } from '../core/transfer-limits.js';
import { needsUser, ON_BATTERY } from '../service/pair-state.js';
import type { PairStatus } from '../service/service.js';

/** The tray icon shows the state of everything at once, the most urgent first. */
export type IconState = 'idle' | 'syncing' | 'paused' | 'attention';

/** One menu entry. `key` names it (and the action a click means) and stays the same across updates. */
export interface MenuItem {
  key: string;
  title: string;
  enabled: boolean;
  checked?: boolean;
  /** Kept in the menu but not shown: the helper cannot add items, only change them. */
  hidden?: boolean;
  items?: MenuItem[];
}

export interface TrayMenu {
  icon: IconState;
  /** The first line of the menu, and the tooltip where the platform has one. */
  status: string;
  items: MenuItem[];
}

/** What the menu is made from. */
export interface TrayView {
  pairs: PairStatus[];
  autostart: boolean;
  /** Epoch ms, for "synced 5 min ago". */
  now: number;
  /**
   * Who runs the service: this process (`own`, the default), another one the tray joined
   * (`joined`: Quit closes the tray only, and Stop SyncTray… stops the service), or nobody any
   * more (`gone`: the joined service stopped; Start SyncTray starts it again).
   */
  service?: 'own' | 'joined' | 'gone';
}

/** How long the Pause submenu of a pair offers to pause it, each with its item's title. */
const PAUSE_LENGTHS = [
  ['pause-half-hour', 'For 30 minutes'],
  ['pause-hour', 'For 1 hour'],
  ['pause-tomorrow', 'Until tomorrow'],
  ['pause-indefinitely', 'Until resumed'],
] as const;
export type PauseLength = (typeof PAUSE_LENGTHS)[number][0];

/** "Until tomorrow" ends at this hour of the next day, local time: the start of a working day. */
const TOMORROW_HOUR = 8;

/** The actions of a pair's submenu. */
const PAIR_ACTIONS = [
  ...PAUSE_LENGTHS.map(([action]) => action),
  'resume',
  'resync',
  'open-source',
  'open-destination',
  'restore',
  'remove',
  'deletions',
] as const;
/** The actions of the menu itself; each item's key is its action's name. */
const MENU_ACTIONS = [
  'add',
  'add-phone',
  'resume-all',
  'open-log',
  'autostart',
  'quit',
  'stop-service',
  'start-service',
] as const;

/** What a click asks for. */
export type TrayAction =
  | { type: (typeof PAIR_ACTIONS)[number]; pairId: string }
  | { type: (typeof MENU_ACTIONS)[number] }
  /** One of Pause all's items (key `all:<length>`). */
  | { type: 'pause-all'; length: PauseLength };

export const SEPARATOR = '-';

/** When a pause chosen in the menu at `nowMs` ends (wall-clock ms); undefined: when resumed. */
export function pauseEnd(length: PauseLength, nowMs: number): number | undefined {
  if (length === 'pause-half-hour') return nowMs + 30 * 60_000;
  if (length === 'pause-hour') return nowMs + 60 * 60_000;
  if (length === 'pause-indefinitely') return undefined;
  const now = new Date(nowMs);
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, TOMORROW_HOUR).getTime();
}

/** Whether a click is on one of a pair's Pause submenu items. */
export function isPause(action: TrayAction): action is { type: PauseLength; pairId: string } {
  return PAUSE_LENGTHS.some(([length]) => length === action.type);
}

/** The whole menu as a function of the service's state: the tray applies it, tests read it. */
export function trayMenu(view: TrayView): TrayMenu {
  if (view.service === 'gone') return goneMenu(view);
  const { pairs } = view;
  const items: MenuItem[] = [{ key: 'status', title: statusLine(pairs), enabled: false }, sep(1)];
  for (const p of pairs) items.push(pairMenu(p, view.now));
  if (pairs.length > 0) items.push(sep(2));
  // A pair paused for a time may be paused for longer; one waiting on battery is no pause of the user's.
  const canPause = pairs.some((p) => !userPaused(p) || p.pausedUntil !== undefined);
  const anyPaused = pairs.some(userPaused);
  items.push(
    { key: 'add', title: 'Add folder pair…', enabled: true },
    { key: 'add-phone', title: 'Add phone pair…', enabled: true },
    {
      key: 'pause-all',
      title: 'Pause all',
      enabled: canPause,
      items: PAUSE_LENGTHS.map(([length, title]) => ({ key: `all:${length}`, title, enabled: canPause })),
    },
    { key: 'resume-all', title: 'Resume all', enabled: anyPaused },
    sep(3),
    { key: 'open-log', title: 'Open log', enabled: true },
    { key: 'autostart', title: 'Start at login', enabled: true, checked: view.autostart },
  );
  if (view.service === 'joined')
    items.push(
      { key: 'quit', title: 'Close the tray (SyncTray keeps running)', enabled: true },
      { key: 'stop-service', title: 'Stop SyncTray…', enabled: true },
    );
  else items.push({ key: 'quit', title: 'Quit SyncTray', enabled: true });
  return { icon: iconState(pairs), status: statusLine(pairs), items };
}

/** The joined service is gone: nothing to show of the pairs, and a way to start it again. */
function goneMenu(view: TrayView): TrayMenu {
  const status = 'SyncTray is not running';
  return {
    icon: 'attention',
    status,
    items: [
      { key: 'status', title: status, enabled: false },
      sep(1),
      { key: 'start-service', title: 'Start SyncTray', enabled: true },
      sep(3),
      { key: 'open-log', title: 'Open log', enabled: true },
      { key: 'autostart', title: 'Start at login', enabled: true, checked: view.autostart },
      { key: 'quit', title: 'Close the tray', enabled: true },
    ],
  };
}

/**
 * Reads a clicked item's key back as the action it stands for: `quit`, `all:<pause length>`, or
 * `pair:<id>:<action>`.
 */
export function actionOf(key: string): TrayAction | undefined {
  const menu = MENU_ACTIONS.find((a) => a === key);
  if (menu) return { type: menu };
  const all = PAUSE_LENGTHS.find(([length]) => key === `all:${length}`);
  if (all) return { type: 'pause-all', length: all[0] };
  const m = /^pair:(.+):([a-z-]+)$/.exec(key);
  const pair = PAIR_ACTIONS.find((a) => a === m?.[2]);
  return m && pair ? { type: pair, pairId: m[1]! } : undefined;
}

/** Paused by the user (for a time or until resumed), not waiting on battery. */
function userPaused(p: PairStatus): boolean {
  return p.state === 'paused' && p.reason !== ON_BATTERY;
}

/** A pair waiting for its backup drive to be plugged in. */
function driveAway(p: PairStatus): boolean {
  return p.state === 'waiting-for-destination' && !needsUser(p);
}

export function iconState(pairs: PairStatus[]): IconState {
  if (pairs.some(needsUser)) return 'attention';
  if (pairs.some((p) => p.state === 'syncing' || p.state === 'scanning')) return 'syncing';
  if (pairs.length > 0 && pairs.every((p) => p.state === 'paused')) return 'paused';
  return 'idle';
}

/** One line for everything: what needs the user first, then what is under way, then all is well. */
export function statusLine(pairs: PairStatus[]): string {
  if (pairs.length === 0) return 'No folder pairs yet: add one below';
  const trouble = pairs.filter(needsUser);
  if (trouble.length > 1) return `${trouble.length} pairs need attention`;
  if (trouble.length === 1) return `${trouble[0]!.name}: ${problemText(trouble[0]!)}`;
  const syncing = pairs.filter((p) => p.state === 'syncing');
  if (syncing.length > 1) return `Syncing ${syncing.length} pairs`;
  if (syncing.length === 1) return `Syncing ${syncing[0]!.name}${progressText(syncing[0]!)}`;
  const scanning = pairs.filter((p) => p.state === 'scanning');
  if (scanning.length > 0)
    return scanning.length === 1 ? `Checking ${scanning[0]!.name}…` : `Checking ${scanning.length} pairs…`;
  const away = pairs.filter(driveAway);
  if (away.length > 1) return `${away.length} pairs wait for their backup drives`;
  if (away.length === 1)
    return `${away[0]!.name}: ${short(firstClause(away[0]!.reason ?? 'backup drive not connected'), 90)}`;
  const paused = pairs.filter((p) => p.state === 'paused').length;
  if (paused === pairs.length) return paused === 1 ? `${pairs[0]!.name} is paused` : `All ${paused} pairs paused`;
  const upToDate = pairs.length - paused;
  const head =
    upToDate === 1 && paused === 0
      ? `${pairs[0]!.name} is up to date`
      : paused === 0
        ? `All ${upToDate} pairs up to date`
        : `${upToDate} of ${pairs.length} pairs up to date`;
  return paused > 0 ? `${head}, ${paused} paused` : head;
}

function pairMenu(p: PairStatus, now: number): MenuItem {
  const id = p.id;
  // Waiting on battery is no pause of the user's: Pause is still offered, Resume would do nothing.
  const paused = userPaused(p);
  const items: MenuItem[] = [
    { key: `pair:${id}:state`, title: pairStateText(p, now), enabled: false },
    {
      key: `pair:${id}:route`,
      title: `${shorten(p.source)} → ${shorten(p.destination)} (${p.mode})`,
      enabled: false,
    },
    // A standing note, not a problem: the pair stays up to date with what the drive can hold.
    {
      key: `pair:${id}:unstorable`,
      title: p.unstorable?.note ?? 'Every item stored',
      enabled: false,
      hidden: p.unstorable === undefined,
    },
  ];
  items.push(
    {
      key: `pair:${id}:versions`,
      title: p.versions ? `Versions: ${formatVersionsSpace(p.versions)}` : 'Versions',
      enabled: false,
      hidden: p.versions === undefined,
    },
    // Where the pair limits what rclone does for it: `Limits: at most 2M a second`.
    {
      key: `pair:${id}:limits`,
      title: `Limits: ${transferLimitsText(p) || 'none'}`,
      enabled: false,
      hidden: transferLimitsText(p) === '',
    },
    {
      key: `pair:${id}:deletions`,
      title: 'Deletions held back: review…',
      enabled: p.held !== undefined,
      hidden: p.held === undefined,
    },
    sep(`${id}:1`),
    // Both are always there, one hidden: the menu's shape never changes with the pair's state.
    {
      key: `pair:${id}:pause`,
      title: 'Pause',
      enabled: !paused,
      hidden: paused,
      items: PAUSE_LENGTHS.map(([action, title]) => ({ key: `pair:${id}:${action}`, title, enabled: !paused })),
    },
    { key: `pair:${id}:resume`, title: 'Resume', enabled: paused, hidden: !paused },
    { key: `pair:${id}:resync`, title: 'Resync now', enabled: p.state !== 'paused' },
    { key: `pair:${id}:open-source`, title: 'Open source folder', enabled: true },
    { key: `pair:${id}:open-destination`, title: 'Open destination folder', enabled: true },
    { key: `pair:${id}:restore`, title: 'Restore…', enabled: true },
    sep(`${id}:2`),
    { key: `pair:${id}:remove`, title: 'Remove pair…', enabled: true },
  );
  return { key: `pair:${id}`, title: `${p.name}: ${shortState(p, now)}`, enabled: true, items };
}

function shortState(p: PairStatus, now: number): string {
  if (p.held) return 'deletions held';
  switch (p.state) {
    case 'idle':
      return 'up to date';
    case 'scanning':
      return 'checking…';
    case 'syncing':
      return p.progress ? `syncing ${percent(p)}%` : 'syncing';
    case 'paused':
      if (p.reason === ON_BATTERY) return 'on battery';
      return p.pausedUntil ? `paused until ${formatUntil(Date.parse(p.pausedUntil), now)}` : 'paused';
    case 'stopped':
      return 'stopped';
    case 'waiting-for-source':
      return 'source missing';
    case 'waiting-for-destination':
      return driveAway(p) ? 'drive not connected' : 'check the backup folder';
    case 'waiting-for-phone':
      return p.phone?.connection === 'unauthorized'
        ? 'unlock the phone'
        : p.phone?.connection === 'no-adb'
          ? 'adb missing'
          : 'phone not connected';
    case 'error':
      return 'needs attention';
  }
}

function pairStateText(p: PairStatus, now: number): string {
  const when = p.lastSyncAt ? `last synced ${formatAgo(now - Date.parse(p.lastSyncAt))}` : 'not synced yet';
  if (p.state === 'error' || p.state === 'waiting-for-source' || p.held) return `${problemText(p)}`;
  if (p.state === 'waiting-for-phone') return `${short(p.reason ?? 'phone not connected', 90)} (${when})`;
  if (p.state === 'waiting-for-destination')
    return driveAway(p)
      ? `${short(firstClause(p.reason ?? 'backup drive not connected'), 90)} (${when})`
      : problemText(p);
  if (p.state === 'syncing') return `Syncing${progressText(p)}`;
  if (p.state === 'scanning') return `Checking for changes… (${when})`;
  if (p.state === 'paused' && p.reason === ON_BATTERY) return `Paused: on battery (${when})`;
  if (p.state === 'paused')
    return p.pausedUntil ? `Paused until ${formatUntil(Date.parse(p.pausedUntil), now)} (${when})` : `Paused (${when})`;
  return `Up to date (${when})`;
}

function problemText(p: PairStatus): string {
  if (p.state === 'waiting-for-source') return 'source folder missing: reconnect or restore it';
  if (p.state === 'waiting-for-phone') return short(p.reason ?? 'phone not connected', 90);
  if (p.state === 'waiting-for-destination') return short(p.reason ?? 'backup folder missing', 90);
  if (p.held) return 'deletions held back: review them';
  return short(p.lastError ?? 'needs attention', 90);
}

/** " — 1,204 of 7,000 files, 4.2 MB/s, 2 min left" */
function progressText(p: PairStatus): string {
  const pr = p.progress;
  if (!pr) return '';
  const rate = pr.bytesPerSec === undefined ? '' : `, ${formatBytes(pr.bytesPerSec)}/s`;
  const left = pr.etaMs === undefined ? '' : `, ${remaining(pr.etaMs)}`;
  return ` — ${formatCount(pr.files)} of ${formatCount(pr.totalFiles)} files${rate}${left}`;
}

function percent(p: PairStatus): number {
  const pr = p.progress!;
  const share = pr.totalBytes > 0 ? pr.bytes / pr.totalBytes : pr.files / Math.max(1, pr.totalFiles);
  return Math.min(99, Math.floor(share * 100));
}

function remaining(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return 'less than a minute left';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min left`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min left`;
}

/** Long paths keep their ends: the folder's name is what tells two pairs apart. */
function shorten(p: string): string {
  return p.length <= 40 ? p : `${p.slice(0, 12)}…${p.slice(-27)}`;
}

/** "Backup drive BACKUP is not connected" of "Backup drive BACKUP is not connected: plug it in…". */
function firstClause(text: string): string {
  const end = text.search(/[:.;] /);
  return end < 0 ? text : text.slice(0, end);
}

function short(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

function sep(n: number | string): MenuItem {
  return { key: `sep:${n}`, title: SEPARATOR, enabled: false };
}
