import type { Pair } from '../config/schema.js';
import type { SyncMode } from '../core/modes.js';
import os from 'node:os';
import { formatCountOf } from '../core/format.js';
import { losesNothing, previewText, type Preview } from '../engine/preview.js';
import { HeldChangedError, heldSummary } from '../service/held.js';
import { keptVersionsAt, type ListedVersion } from '../service/pair-versions.js';
import type { ServiceEvent } from '../service/service.js';
import type { TrayService } from './tray-service.js';
import type { Autostart } from './autostart.js';
import type { AdbDevice } from '../storage/adb/devices.js';
import type { RcloneRemote } from '../storage/rclone/list-remotes.js';
import { isRemoteLocation } from '../storage/location.js';
import { askFolderPair, askPhonePair, type Asked } from './ask-pair.js';
import type { Dialogs } from './dialogs.js';
import { describe, TrayHelper, type HelperExit, type HelperMenu } from './tray-helper.js';
import { RESTORE_ROWS, versionRow } from './version-rows.js';
import {
  actionOf,
  isPause,
  pauseEnd,
  trayMenu,
  type IconState,
  type MenuItem,
  type TrayAction,
  type TrayMenu,
} from './tray-menu.js';

export interface TrayDeps {
  /** The executable tray helper (see installHelper). */
  helper: string;
  icon(state: IconState): { bytes: Buffer; template: boolean };
  dialogs: Dialogs;
  autostart: Autostart;
  /** Opens a folder or file in the user's file manager or viewer. */
  open(target: string): void;
  /** Tells the user something outside the menu (a notification). */
  tell(title: string, body: string): void;
  /** The phones the adb server sees. */
  phones(): Promise<AdbDevice[]>;
  /** The user's rclone remotes; fails saying how to install rclone when it is missing. */
  remotes(): Promise<RcloneRemote[]>;
  /** Checks a new pair as `pair add` does; throws a RefusedError saying why not. */
  prepare(source: string, destination: string, mode: SyncMode): Omit<Pair, 'id'>;
  /** What a new pair's first sync would do to its destination, by a dry run (see pair-preview.ts). */
  preview(pair: Omit<Pair, 'id'>): Promise<Preview>;
  quit(): void;
  now(): number;
  /** A joined service: asks it to stop (Stop SyncTray…, once confirmed). */
  stopService?(): Promise<void>;
  /** A joined service that stopped: starts it again, in a process of its own (Start SyncTray). */
  startService?(): void;
}

/** Progress and state changes reach the menu at most this often. */
const THROTTLE_MS = 500;
const RESTART_FIRST_MS = 1000;
const RESTART_MAX_MS = 60_000;

const ADD_BY_HAND = 'synctray pair add SOURCE DESTINATION';

/**
 * The tray icon and menu over a service, this process's own or one it joined (TrayService). The
 * menu is rebuilt from the service's state (tray-menu.ts) and applied item by item; when its shape
 * changes (a pair added or removed, the joined service gone) the helper is started again with the
 * new menu, since the helper cannot add items. A helper that dies is restarted, waiting longer
 * each time.
 */
export class Tray {
  private helper: TrayHelper | undefined;
  private shown: TrayMenu | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastApplied = 0;
  private restartDelay = RESTART_FIRST_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private busy = false;
  private showing: Promise<void> = Promise.resolve();
  /** Pairs whose held deletions the user was asked about once; asked again only after they clear. */
  private readonly askedHeld = new Set<string>();
  /** Pairs to ask about once the dialog that is open closes. */
  private readonly pendingHeld = new Set<string>();

  constructor(
    private readonly svc: TrayService,
    private readonly deps: TrayDeps,
  ) {}

  /** Shows the icon; rejects if the helper cannot start at all (no display, say). */
  async start(): Promise<void> {
    this.svc.onChange((e) => this.onEvent(e));
    this.showing = this.show();
    await this.showing;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.restartTimer);
    // A start under way finishes first (and sees `stopped`), then whatever runs is closed.
    await this.showing.catch(() => undefined);
    await this.helper?.close();
  }

  /** The menu as it is now (for tests and for the first show). */
  menu(): TrayMenu {
    return trayMenu({
      pairs: this.svc.status(),
      autostart: this.deps.autostart.enabled(),
      now: Date.now(),
      service: this.svc.kind,
    });
  }

  private onEvent(e: ServiceEvent | undefined): void {
    this.schedule();
    if (e === undefined) return;
    if (e.type === 'status' && e.status.held === undefined) {
      this.askedHeld.delete(e.status.id);
      this.pendingHeld.delete(e.status.id);
    }
    // A guard that holds deletions back asks the user at once; the menu item asks again later.
    if (e.type === 'problem' && e.kind === 'held' && !this.askedHeld.has(e.pair.id)) this.askHeld(e.pair.id);
  }

  private askHeld(pairId: string): void {
    if (this.stopped) return;
    if (this.busy) return void this.pendingHeld.add(pairId);
    this.askedHeld.add(pairId);
    void this.deletions(pairId).catch((err: unknown) => this.deps.tell('SyncTray', (err as Error).message));
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.lastApplied + THROTTLE_MS - this.deps.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.apply();
    }, wait);
  }

  private async apply(): Promise<void> {
    if (this.stopped || !this.helper?.alive) return;
    this.lastApplied = this.deps.now();
    const next = this.menu();
    const before = this.shown;
    if (!before || shape(before.items) !== shape(next.items)) return this.restart();
    const shownItems = new Map(flatten(before.items).map((i) => [i.key, i]));
    const changed = flatten(next.items).filter((item) => {
      const old = shownItems.get(item.key);
      return (
        !old ||
        old.title !== item.title ||
        old.enabled !== item.enabled ||
        old.checked !== item.checked ||
        old.hidden !== item.hidden
      );
    });
    if (changed.length > 0) this.helper.updateItems(changed);
    if (before.icon !== next.icon || before.status !== next.status) {
      const icon = this.deps.icon(next.icon);
      this.helper.updateIcon(icon.bytes, icon.template, next.status);
    }
    this.shown = next;
  }

  /**
   * Starts the helper again with the menu as it is then. Never rejects: a helper that cannot start
   * is handled as one that died (another try later), so the service goes on.
   */
  private restart(): Promise<void> {
    const attempt = this.showing
      .then(() => this.show())
      .catch((err: unknown) => {
        if (this.stopped) return;
        this.svc.warn(`The tray icon could not be shown: ${(err as Error).message}`);
        this.onExit({ code: null, signal: null, stderr: '' }, this.deps.now());
      });
    this.showing = attempt;
    return attempt;
  }

  /** (Re)starts the helper with the current menu; rejects if it cannot start. */
  private async show(): Promise<void> {
    const old = this.helper;
    this.helper = undefined;
    if (old) {
      old.removeAllListeners('exit');
      await old.close();
    }
    if (this.stopped) return;
    const menu = this.menu();
    const icon = this.deps.icon(menu.icon);
    const helperMenu: HelperMenu = {
      icon: icon.bytes,
      template: icon.template,
      tooltip: menu.status,
      items: menu.items,
    };
    const helper = await TrayHelper.start(this.deps.helper, helperMenu);
    if (this.stopped || !helper.alive) {
      await helper.close();
      if (!this.stopped) throw new Error(`the tray helper exited as it started`);
      return;
    }
    const startedAt = this.deps.now();
    this.helper = helper;
    this.shown = menu;
    helper.on('click', (key) => void this.onClick(key));
    helper.on('exit', (exit) => this.onExit(exit, startedAt));
    // What changed while it was starting.
    this.schedule();
  }

  private onExit(exit: HelperExit, startedAt: number): void {
    this.helper = undefined;
    if (this.stopped) return;
    // One that ran a good while gets the short wait again: it is not failing in a loop.
    if (this.deps.now() - startedAt > RESTART_MAX_MS) this.restartDelay = RESTART_FIRST_MS;
    const wait = this.restartDelay;
    this.restartDelay = Math.min(RESTART_MAX_MS, this.restartDelay * 2);
    this.svc.warn(`The tray icon's helper ended (${describe(exit)}); starting it again in ${wait / 1000} s.`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, wait);
  }

  private async onClick(key: string): Promise<void> {
    const action = actionOf(key);
    if (!action) return;
    try {
      await this.act(action);
    } catch (err) {
      this.deps.tell('SyncTray', (err as Error).message);
    }
    this.schedule();
  }

  private async act(action: TrayAction): Promise<void> {
    const service = this.svc;
    const pair = 'pairId' in action ? this.svc.find(action.pairId) : undefined;
    if (isPause(action)) return void (await service.pause(action.pairId, pauseEnd(action.type, Date.now())));
    switch (action.type) {
      case 'resume':
        return void (await service.resume(action.pairId));
      case 'resync':
        return void (await service.resync(action.pairId));
      case 'open-source':
        return pair && this.deps.open(pair.source);
      case 'open-destination':
        return pair && this.deps.open(pair.destination);
      case 'remove':
        return this.remove(action.pairId);
      case 'restore':
        return this.restore(action.pairId);
      case 'deletions':
        return this.deletions(action.pairId);
      case 'pause-all':
        return void (await service.pauseAll(pauseEnd(action.length, Date.now())));
      case 'resume-all':
        return void (await service.resumeAll());
      case 'open-log':
        return this.deps.open(this.svc.logFile());
      case 'autostart': {
        const on = !this.deps.autostart.enabled();
        this.deps.autostart.set(on);
        await this.svc.setAutostart(on);
        return;
      }
      case 'add':
        return this.add(() => askFolderPair(this.deps.dialogs, () => this.deps.remotes()), ADD_BY_HAND);
      case 'add-phone':
        return this.add(async () => {
          const phones = await this.readyPhones();
          return phones ? askPhonePair(this.deps.dialogs, phones) : { cancelled: true };
        }, 'synctray pair add adb:/sdcard/DCIM DESTINATION');
      case 'quit':
        return this.deps.quit();
      case 'stop-service':
        return this.stopService();
      case 'start-service':
        return this.deps.startService?.();
    }
  }

  /** One dialog at a time: a second click while one is open would stack pickers. */
  private async dialog<T>(steps: () => Promise<T>): Promise<T | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      return await steps();
    } finally {
      this.busy = false;
      const next = this.pendingHeld.values().next();
      if (!next.done) {
        this.pendingHeld.delete(next.value);
        setImmediate(() => this.askHeld(next.value));
      }
    }
  }

  private async stopService(): Promise<void> {
    const stop = this.deps.stopService;
    if (!stop) return;
    await this.dialog(async () => {
      const answer = await this.deps.dialogs.confirm(
        'SyncTray: stop SyncTray',
        'Stop SyncTray? No folder pair is synced or watched until it is started again (Start SyncTray in ' +
          "this menu, 'synctray run', or at the next login).",
        'Stop',
      );
      if (this.stopped) return;
      if (answer.ok) await stop();
      else if (!answer.cancelled)
        this.unavailable(answer.unavailable, "stop 'synctray run' (Ctrl+C, or SIGTERM to its process)");
    });
  }

  private async remove(pairId: string): Promise<void> {
    await this.dialog(async () => {
      const pair = this.svc.find(pairId);
      if (!pair) return;
      const answer = await this.deps.dialogs.confirm(
        'Remove folder pair',
        `Stop syncing "${pair.name}"?\n\n${pair.source} → ${pair.destination}\n\nBoth folders are left as they are.`,
        'Remove',
      );
      if (this.stopped) return;
      if (answer.ok) await this.svc.remove(pair.id);
      else if (!answer.cancelled) this.unavailable(answer.unavailable, `synctray pair remove ${pair.name}`);
    });
  }

  /** What a guard holds back, and the user's answer: keep waiting, apply, or restore from the destination. */
  private async deletions(pairId: string): Promise<void> {
    await this.dialog(async () => {
      // Should the list change between showing it and Apply, the new one is shown (a few times at most).
      for (let shown = 0; shown < 3; shown++) {
        const pair = this.svc.find(pairId);
        if (!pair || this.stopped) return;
        const held = await this.svc.heldDeletions(pair.id);
        const files = formatCountOf(held.count, 'file');
        const answer = await this.deps.dialogs.choose(
          `SyncTray: ${pair.name}: deletions held back`,
          `${shown > 0 ? 'What the source asks for has changed since; here it is again.\n\n' : ''}` +
            `${heldSummary(pair.destination, held)}`,
          [
            ['Keep waiting', 'Change nothing now; the menu asks again (nothing is deleted meanwhile)'],
            ['Apply', `Delete the ${files} from the destination, as in the source`],
            ['Restore', `Copy the ${files} back into the source from the destination`],
          ],
        );
        if (!answer.ok)
          return answer.cancelled
            ? undefined
            : this.unavailable(answer.unavailable, `synctray pair deletions ${pair.name}`);
        if (this.stopped) return;
        if (answer.value === 'Restore') {
          const r = await this.svc.restore(pair.id);
          const failed = r.failed > 0 ? ` ${r.failed} could not be restored: ${r.errors[0]}` : '';
          return this.deps.tell(
            `${pair.name}: files restored`,
            `${formatCountOf(r.restored, 'file')} copied back into ${pair.source}.${failed}`,
          );
        }
        if (answer.value !== 'Apply') return;
        try {
          await this.svc.applyDeletions(pair.id, held.token);
          return;
        } catch (err) {
          if (!(err instanceof HeldChangedError)) throw err;
        }
      }
    });
  }

  /** Asked with dialogs (see ask-pair.ts), checked as `pair add` checks; cancel at any step adds nothing. */
  private async add(ask: () => Promise<Asked>, byHand: string): Promise<void> {
    await this.dialog(async () => {
      const asked = await ask();
      if ('unavailable' in asked) return this.unavailable(asked.unavailable, byHand);
      if ('cancelled' in asked || this.stopped) return;
      try {
        const pair = await this.askFirstSync(asked.source, asked.destination, asked.mode);
        if (pair && !this.stopped) await this.svc.add(pair);
      } catch (err) {
        await this.deps.dialogs.message('SyncTray: this pair cannot be added', (err as Error).message);
      }
    });
  }

  /**
   * The pair as chosen, once its first sync takes nothing from the destination, or the user has
   * seen what it takes and chosen: Continue, another destination (a picker again), or update mode
   * (previewed again: it may still replace files). Undefined when the user cancels: nothing added.
   */
  private async askFirstSync(
    source: string,
    destination: string,
    mode: SyncMode,
  ): Promise<Omit<Pair, 'id'> | undefined> {
    for (;;) {
      const pair = this.deps.prepare(source, destination, mode);
      let preview: Preview;
      try {
        preview = await this.deps.preview(pair);
      } catch (err) {
        // A drive or phone not there yet: the pair waits for it, and the guards hold mass deletions.
        this.svc.warn(`Could not look at what the first sync of ${pair.name} would do: ${(err as Error).message}`);
        return pair;
      }
      if (losesNothing(preview) || this.stopped) return pair;
      const choices: [string, string][] = [['Continue', 'Add the pair and sync it as shown']];
      // A folder on a phone is not one the folder picker can offer.
      if (!isRemoteLocation(destination))
        choices.push(['Choose another destination', 'Pick another folder to back up into']);
      if (mode !== 'update')
        choices.push([
          'Use update mode instead',
          'Copy new and changed files; never delete anything in the destination',
        ]);
      const versions = keptVersionsAt(pair);
      const answer = await this.deps.dialogs.choose(
        'SyncTray: the first sync would replace or delete files',
        `The first sync of ${source} → ${destination} (${mode}) would:\n${previewText(preview, versions)}`,
        choices,
      );
      if (!answer.ok) {
        if (!answer.cancelled) this.unavailable(answer.unavailable, ADD_BY_HAND);
        return undefined;
      }
      if (this.stopped) return undefined;
      // Kept with the pair: a first sync that would take more than shown is held and asked about.
      if (answer.value === 'Continue')
        return { ...pair, agreedFirstSync: { replaced: preview.replaced, deleted: preview.deleted } };
      if (answer.value === 'Use update mode instead') mode = 'update';
      else {
        const picked = await this.deps.dialogs.folder(`SyncTray: choose where to back up ${source}`, os.homedir());
        if (!picked.ok) {
          if (!picked.cancelled) this.unavailable(picked.unavailable, ADD_BY_HAND);
          return undefined;
        }
        destination = picked.value;
      }
    }
  }

  /**
   * Restore…: the pair's versions, newest first; the ones chosen go back into the source or a
   * folder the user picks, by the restore `synctray restore` runs, which overwrites nothing.
   */
  private async restore(pairId: string): Promise<void> {
    await this.dialog(async () => {
      const pair = this.svc.find(pairId);
      if (!pair) return;
      const byHand = `synctray versions ${pair.name}, then synctray restore ${pair.name} PATH`;
      const all = await this.svc.versions(pair.id, '');
      if (all.length === 0) {
        await this.deps.dialogs.message(
          `SyncTray: ${pair.name}: restore`,
          `No deleted or replaced files of "${pair.name}" are kept: there is nothing to restore.`,
        );
        return;
      }
      const shown = all.slice(0, RESTORE_ROWS);
      const now = Date.now();
      const more = all.length > shown.length ? ` (the newest ${shown.length} of ${all.length})` : '';
      const picked = await this.deps.dialogs.pick(
        `SyncTray: ${pair.name}: restore`,
        `Files the sync deleted or replaced in the destination, newest first${more}. Choose one or more:`,
        shown.map((v) => versionRow(v, now)),
      );
      if (!picked.ok) return picked.cancelled ? undefined : this.unavailable(picked.unavailable, byHand);
      const chosen = picked.chosen.map((i) => shown[i]!);
      const where = await this.deps.dialogs.choose(
        `SyncTray: ${pair.name}: where to restore`,
        `Where should ${chosen.length === 1 ? chosen[0]!.path : formatCountOf(chosen.length, 'file')} go? ` +
          'Nothing existing is overwritten.',
        [
          ['Source', `Back in the source, ${pair.source}`],
          ['Folder', 'Into a folder you choose'],
        ],
      );
      if (!where.ok) return where.cancelled ? undefined : this.unavailable(where.unavailable, byHand);
      let to: string | undefined;
      if (where.value === 'Folder') {
        const folder = await this.deps.dialogs.folder(`SyncTray: choose where to restore into`, os.homedir());
        if (!folder.ok) return folder.cancelled ? undefined : this.unavailable(folder.unavailable, byHand);
        to = folder.value;
      }
      if (this.stopped) return;
      await this.restoreChosen(pair.id, pair.name, chosen, to);
    });
  }

  /** Each chosen version is restored on its own, so one that is refused (its name taken) stops none of the others. */
  private async restoreChosen(pairId: string, name: string, chosen: ListedVersion[], to: string | undefined) {
    const refused: string[] = [];
    let restored = 0;
    let into = to;
    for (const v of chosen) {
      try {
        const r = await this.svc.restoreVersions(pairId, {
          path: v.path,
          atMs: Date.parse(v.setAside),
          ...(to !== undefined ? { to } : {}),
        });
        restored += r.restored.length;
        into = r.into;
      } catch (err) {
        refused.push((err as Error).message);
      }
    }
    if (restored > 0)
      this.deps.tell(`${name}: files restored`, `${formatCountOf(restored, 'file')} restored into ${into}.`);
    if (refused.length > 0)
      await this.deps.dialogs.message(
        `SyncTray: ${name}: not restored`,
        `${refused.join('\n\n')}\n\nNothing was overwritten. To keep both, restore into a folder you choose.`,
      );
  }

  /** The connected phones, or a dialog saying why there are none (adb missing, none plugged in). */
  private async readyPhones(): Promise<AdbDevice[] | undefined> {
    let all: AdbDevice[];
    try {
      all = await this.deps.phones();
    } catch (err) {
      await this.deps.dialogs.message('SyncTray: phones', (err as Error).message);
      return undefined;
    }
    const ready = all.filter((p) => p.state === 'device');
    if (ready.length > 0) return ready;
    const locked = all.some((p) => p.state === 'unauthorized');
    await this.deps.dialogs.message(
      'SyncTray: no phone is ready',
      locked
        ? 'A phone is connected but has not allowed this computer: unlock it and allow USB debugging, then try again.'
        : 'No phone is connected. Plug it in with a USB cable, turn on USB debugging ' +
            '(Settings → Developer options), unlock it and allow this computer, then try again.',
    );
    return undefined;
  }

  /** No dialog tool: say which to install, and the command that does the same. */
  private unavailable(why: string, command: string): void {
    this.deps.tell('SyncTray needs a dialog tool', `${why}. Without one, do it from a terminal: ${command}`);
  }
}

/** The menu's shape: its keys and nesting, which the helper cannot change in place. */
function shape(items: MenuItem[]): string {
  return items.map((i) => (i.items ? `${i.key}[${shape(i.items)}]` : i.key)).join(',');
}

function flatten(items: MenuItem[]): MenuItem[] {
  return items.flatMap((i) => [i, ...(i.items ? flatten(i.items) : [])]);
}
