/**
 * Backup drives as they are: real exFAT (exfat-fuse) and NTFS (ntfs-3g) file systems on loop
 * devices, synced through the built CLI. What a drive cannot hold is skipped with its reason, names
 * it refuses are stored encoded, and a second run (or a watch's periodic rescan) does nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodePath, nameCodec, NO_RULES, type NameRules } from '../../src/core/name-encoding.js';
import { measuredOf } from '../../src/storage/local/measure.js';
import { CONTROL_CHARS, granularityOf } from '../../src/storage/measured.js';
import { assertCliBuilt, describeRun, runSync, summaryOf } from '../helpers/cli.js';
import { disposeAllDrives, driveSkipReason, makeDrive, type Drive, type DriveKind } from '../helpers/drives.js';
import { setMtime } from '../helpers/mtimes.js';
import { makeScratch, removeScratch } from '../helpers/scratch.js';
import { findTempFiles } from '../helpers/tree-inspect.js';
import { seededBytes } from '../helpers/tree-spec.js';
import { waitFor } from '../helpers/wait-for.js';
import { Watching } from '../helpers/watching.js';

const S = 1_000_000_000n;
const RESERVED = ':*?"<>|\\';

interface Expected {
  /** What the probe must find. */
  granularityNs: bigint;
  permissions: boolean;
  symlinks: boolean;
  foldsCase: boolean;
  names: NameRules;
  kind: string;
  /** Skips the first run reports, as `reason path`. */
  skips: string[];
}

const KINDS: Record<'exfat' | 'ntfs', Expected> = {
  exfat: {
    granularityNs: S,
    permissions: false,
    symlinks: false,
    foldsCase: true,
    names: { refused: RESERVED + CONTROL_CHARS, trailingDot: false, trailingSpace: false },
    kind: 'exFAT',
    skips: ['case-clash Case.txt', 'no-symlinks link-to-dir', 'no-symlinks link-to-file'],
  },
  ntfs: {
    // NTFS keeps 100 ns; the probe sets its time through Node, to the microsecond.
    granularityNs: 1000n,
    permissions: false,
    symlinks: true,
    foldsCase: false,
    names: NO_RULES,
    kind: 'NTFS',
    skips: [],
  },
};

/**
 * The tree the issue names: sub-second times, symlinks, every reserved character, trailing dots and
 * spaces, a control character, a case clash, a folder with a refused name, and a 50 MB file.
 */
function makeSource(src: string): void {
  const file = (rel: string, content: Buffer | string, ns: bigint) => {
    fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    fs.writeFileSync(path.join(src, rel), content);
    setMtime(path.join(src, rel), ns);
  };
  const t = 1_700_000_000n * S;
  for (let i = 0; i < 40; i++) file(`sub/f${i}.txt`, `file ${i}\n`, t + BigInt(i) * S + 123_456_789n + BigInt(i));
  for (const c of RESERVED) file(`name${c}x.txt`, `reserved ${c}`, t + 987_654_321n);
  file('ctl\u0001x', 'control', t + 5n);
  file('trailing.', 'dot', t + 500_000_000n);
  file('trailing ', 'space', t + 500_000_001n);
  file('dir:1/inside.txt', 'in a folder with a colon', t + 250_000_000n);
  file('Case.txt', 'upper', t + 1n);
  file('case.txt', 'lower', t + 2n);
  // One name in NFC and in NFD: two names on these drives, which do not normalise.
  file('caf\u00e9.txt', 'composed', t + 3n);
  file('cafe\u0301.txt', 'decomposed', t + 4n);
  file('video.mov', seededBytes(50 * 1024 * 1024, 7), t + 999_999_999n);
  fs.symlinkSync('sub/f1.txt', path.join(src, 'link-to-file'));
  fs.symlinkSync('sub', path.join(src, 'link-to-dir'));
}

/**
 * Every item of `src` that the drive can hold is on it, under its stored name, with its bytes and
 * its time within the drive's granularity (symlinks with their text); nothing else is there but
 * what `extra` allows. Returns what differs, empty when the drive matches.
 */
function differences(src: string, dst: string, expected: Expected, skipped: ReadonlySet<string>): string[] {
  const codec = nameCodec(expected.names);
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(src, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (skipped.has(r)) continue;
      const from = path.join(src, r);
      const stored = encodePath(codec, r);
      seen.add(stored);
      const to = path.join(dst, stored);
      const a = fs.lstatSync(from, { bigint: true });
      const b = fs.lstatSync(to, { bigint: true, throwIfNoEntry: false });
      if (!b) {
        out.push(`missing: ${r} (as ${stored})`);
        continue;
      }
      if (a.isSymbolicLink()) {
        if (!b.isSymbolicLink() || fs.readlinkSync(to) !== fs.readlinkSync(from)) out.push(`link differs: ${r}`);
      } else if (a.isDirectory()) {
        if (!b.isDirectory()) out.push(`not a folder: ${r}`);
        else walk(r);
      } else {
        if (!fs.readFileSync(to).equals(fs.readFileSync(from))) out.push(`bytes differ: ${r}`);
        const off = a.mtimeNs > b.mtimeNs ? a.mtimeNs - b.mtimeNs : b.mtimeNs - a.mtimeNs;
        if (off > expected.granularityNs) out.push(`time differs by ${off} ns: ${r}`);
      }
    }
  };
  walk('');
  const extra = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dst, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (!seen.has(r) && ![...skipped].some((s) => encodePath(codec, s).toLowerCase() === r.toLowerCase()))
        out.push(`extra on the drive: ${r}`);
      else if (fs.lstatSync(path.join(dst, r)).isDirectory()) extra(r);
    }
  };
  extra('');
  return out;
}

beforeAll(() => assertCliBuilt());
afterAll(() => disposeAllDrives());

for (const kind of ['exfat', 'ntfs'] as const) {
  const expected = KINDS[kind];
  describe.skipIf(driveSkipReason(kind))(`a real ${expected.kind} drive`, () => {
    let drive: Drive;
    let root: string;
    let src: string;
    let dst: string;
    let watching: Watching | undefined;
    beforeEach(async () => {
      root = makeScratch('synctray-drive-');
      src = path.join(root, 'src');
      fs.mkdirSync(src);
      drive = await makeDrive(kind, { label: 'BACKUP', sizeMiB: 200 });
      dst = path.join(drive.mountPoint, 'backup');
    });
    afterEach(async () => {
      await watching?.stop();
      watching = undefined;
      await drive.dispose();
      removeScratch(root);
    });

    it('is measured for what it keeps, not guessed from its type (fuseblk)', async () => {
      const { probed: found } = await measuredOf(drive.mountPoint, { probe: true });
      const probed = found!;
      expect(granularityOf(probed.time!.setNs, probed.time!.readNs)).toBe(expected.granularityNs);
      expect(probed).toMatchObject({
        permissions: expected.permissions,
        symlinks: expected.symlinks,
        foldsCase: expected.foldsCase,
        normalizesNames: false,
        names: expected.names,
        kind: expected.kind,
      });
      expect(probed.maxName).toEqual({ length: 255, unit: 'utf16' });
      // The probe leaves nothing behind.
      expect(fs.readdirSync(drive.mountPoint).filter((n) => n.startsWith('.~synctray'))).toEqual([]);

      // Once for the mount: files added since (ntfs-3g counts them in its statfs) do not make the
      // next sync probe again, writing to the drive at every run (and leaving an item there when
      // the drive is pulled out during one).
      for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(drive.mountPoint, `photo ${i}.jpg`), `${i}`);
      const written: string[] = [];
      const watcher = fs.watch(drive.mountPoint, (_event, name) => written.push(String(name)));
      try {
        expect((await measuredOf(drive.mountPoint, { probe: true })).probed).toEqual(probed);
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        watcher.close();
      }
      expect(written.filter((n) => n.startsWith('.~synctray'))).toEqual([]);
    });

    it('takes the whole tree in one run that fails nothing, then a second run does nothing', async () => {
      makeSource(src);
      const first = await runSync(src, dst);
      expect(first.code, describeRun(first)).toBe(0);
      const summary = summaryOf(first);
      expect(summary.failed, describeRun(first)).toBe(0);
      const skips = (first.json!.skippedItems as { path: string; reason: string }[])
        .map((s) => `${s.reason} ${s.path}`)
        .sort();
      expect(skips).toEqual(expected.skips);
      if (kind === 'exfat')
        expect(first.stderr).toMatch(/link-to-file: a symlink, and this drive \(exFAT\) cannot hold symlinks/);

      const skipped = new Set(
        expected.skips.flatMap((s) => (s.endsWith('Case.txt') ? ['Case.txt', 'case.txt'] : [s.split(' ')[1]!])),
      );
      expect(differences(src, dst, expected, skipped)).toEqual([]);

      const second = await runSync(src, dst);
      expect(second.code, describeRun(second)).toBe(0);
      expect(summaryOf(second)).toMatchObject({ copied: 0, updated: 0, deleted: 0, metadata: 0, failed: 0 });
      expect(findTempFiles(dst)).toEqual([]);
    }, 120_000);

    it('converges while watching, and its periodic rescan copies nothing', async () => {
      makeSource(src);
      fs.rmSync(path.join(src, 'video.mov'));
      watching = new Watching(src, dst, '--rescan-interval', '2s');
      const ready = await watching.next('ready', (l) => l.event === 'ready', 0, 60_000);
      expect(ready.failed).toBe(0);
      const skipped = new Set(
        expected.skips.flatMap((s) => (s.endsWith('Case.txt') ? ['Case.txt', 'case.txt'] : [s.split(' ')[1]!])),
      );

      fs.writeFileSync(path.join(src, 'new:file?.txt'), 'added while watching');
      fs.writeFileSync(path.join(src, 'sub/f3.txt'), 'changed while watching');
      fs.rmSync(path.join(src, 'name|x.txt'));
      fs.renameSync(path.join(src, 'sub/f4.txt'), path.join(src, 'sub/renamed*4.txt'));
      fs.mkdirSync(path.join(src, 'new folder.'));
      fs.writeFileSync(path.join(src, 'new folder./in"side'), 'deep');
      await waitFor(
        () => differences(src, dst, expected, skipped).length === 0,
        `the drive to follow (${differences(src, dst, expected, skipped).join('; ')})`,
        {
          timeoutMs: 20_000,
          intervalMs: 50,
        },
      );

      // An edit that keeps the size, within the same second as the version before it: on a drive
      // that keeps whole seconds, size and time look unchanged; the watcher saw it written.
      const notes = path.join(src, 'same-second.txt');
      const second = 1_750_000_000n * S;
      fs.writeFileSync(notes, 'version 1');
      setMtime(notes, second + 100_000_000n);
      // Replacing a file through FUSE is not one step for a reader: for a moment it may find none.
      const onDrive = () => fs.readFileSync(path.join(dst, 'same-second.txt'), { encoding: 'utf8', flag: 'r' });
      const reads = (text: string) => () => {
        try {
          return onDrive().startsWith(text);
        } catch {
          return false;
        }
      };
      await waitFor(reads('version 1'), 'the first version on the drive');
      fs.writeFileSync(notes, 'version 2');
      setMtime(notes, second + 600_000_000n);
      await waitFor(reads('version 2'), 'the second version on the drive', { timeoutMs: 10_000 });

      const from = watching.lines.length;
      const rescan = await watching.next('a full rescan', (l) => l.event === 'batch' && l.full === true, from, 20_000);
      expect(rescan).toMatchObject({ copied: 0, updated: 0, deleted: 0, metadata: 0, failed: 0 });
      const r = await watching.stop();
      watching = undefined;
      expect(r.code, r.stderr).toBe(0);
    }, 120_000);
  });
}

for (const kind of ['vfat', 'exfat-kernel'] as DriveKind[]) {
  describe.skipIf(driveSkipReason(kind))(`a ${kind} drive through the kernel`, () => {
    it('is probed like the others', async () => {
      const drive = await makeDrive(kind, { label: 'BACKUP' });
      try {
        const probed = (await measuredOf(drive.mountPoint, { probe: true })).probed!;
        expect(probed).toMatchObject({ permissions: false, symlinks: false, foldsCase: true });
      } finally {
        await drive.dispose();
      }
    });
  });
}

describe.skipIf(driveSkipReason('ntfs'))('NTFS mounted as desktops mount it (ntfs-3g windows_names)', () => {
  let drive: Drive;
  let root: string;
  beforeEach(async () => {
    root = makeScratch('synctray-drive-');
    drive = await makeDrive('ntfs', { label: 'BACKUP', mountOptions: ['windows_names'] });
  });
  afterEach(async () => {
    await drive.dispose();
    removeScratch(root);
  });

  it('stores names with `:` encoded, skips the names Windows reserves, and is idle the next time', async () => {
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    for (let i = 1; i <= 12; i++) fs.writeFileSync(path.join(src, `2024-01-01 10:00:${i}.jpg`), `photo ${i}`);
    for (const name of ['plain.txt', 'aux.c', 'CON']) fs.writeFileSync(path.join(src, name), name);
    const dst = path.join(drive.mountPoint, 'b');
    const first = await runSync(src, dst);
    expect(first.code, describeRun(first)).toBe(0);
    expect(
      (first.json!.skippedItems as { path: string; reason: string }[]).map((s) => `${s.reason} ${s.path}`).sort(),
    ).toEqual(['name-reserved CON', 'name-reserved aux.c']);
    expect(fs.readdirSync(dst)).toContain('2024-01-01 10：00：1.jpg');
    // A new process knows only the kind (NTFS, which takes `:` without windows_names): the
    // second run must not take the encoded names for strangers and refuse a mass deletion.
    const second = await runSync(src, dst);
    expect(second.code, describeRun(second)).toBe(0);
    expect(summaryOf(second)).toMatchObject({ copied: 0, updated: 0, deleted: 0, metadata: 0, failed: 0 });
  }, 60_000);
});

describe.skipIf(driveSkipReason('exfat'))('names exFAT refuses, at the edges of a run', () => {
  let drive: Drive;
  let root: string;
  beforeEach(async () => {
    root = makeScratch('synctray-drive-');
    drive = await makeDrive('exfat', { label: 'BACKUP' });
  });
  afterEach(async () => {
    await drive.dispose();
    removeScratch(root);
  });

  it('a destination folder named with `:` is refused plainly, not retried for ever', async () => {
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a'), 'a');
    const r = await runSync(src, path.join(drive.mountPoint, 'backup 10:00'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refuses the folder name "backup 10:00"');
  });

  it('versions on the same drive keep encoded names, and a restore from it decodes them', async () => {
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a:b.txt'), 'one');
    fs.writeFileSync(path.join(src, 'del?.txt'), 'gone soon');
    const dst = path.join(drive.mountPoint, 'b');
    const versions = path.join(drive.mountPoint, 'versions');
    expect((await runSync(src, dst)).code).toBe(0);
    fs.writeFileSync(path.join(src, 'a:b.txt'), 'two, longer');
    fs.rmSync(path.join(src, 'del?.txt'));
    const r = await runSync(src, dst, '--versions', versions);
    expect(r.code, describeRun(r)).toBe(0);
    expect(summaryOf(r)).toMatchObject({ updated: 1, deleted: 1, failed: 0 });
    expect(fs.readdirSync(dst)).toEqual(['a：b.txt']);
    const [run] = fs.readdirSync(versions);
    expect(fs.readdirSync(path.join(versions, run!, 'replaced'))).toEqual(['a：b.txt']);
    expect(fs.readdirSync(path.join(versions, run!, 'deleted'))).toEqual(['del？.txt']);
    expect(fs.readFileSync(path.join(versions, run!, 'replaced', 'a：b.txt'), 'utf8')).toBe('one');

    const restored = path.join(root, 'restored');
    const back = await runSync(dst, restored);
    expect(back.code, describeRun(back)).toBe(0);
    expect(fs.readdirSync(restored)).toEqual(['a:b.txt']);
    expect(fs.readFileSync(path.join(restored, 'a:b.txt'), 'utf8')).toBe('two, longer');
  });

  it('a file dated 1970 is not copied again after the drive is plugged in again', async () => {
    const src = path.join(root, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'epoch'), 'old');
    setMtime(path.join(src, 'epoch'), 0n);
    const dst = path.join(drive.mountPoint, 'b');
    expect((await runSync(src, dst)).code).toBe(0);
    await drive.unplug();
    await drive.replug();
    const again = await runSync(src, dst);
    expect(summaryOf(again)).toMatchObject({ copied: 0, updated: 0, metadata: 0, failed: 0 });
  });
});
