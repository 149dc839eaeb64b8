// Pairs, the service over its named pipe, its instance lock, and start at login, under Windows'
// node.exe.
import fs from 'node:fs';
import { expect, shown, waitFor, writeTree } from './lane.mjs';

const RUN_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';

/** A Windows program that listens on the pipe it is given and says what happened, then ends. */
const SECOND_SERVER = `const net = require('node:net');
const server = net.createServer();
server.on('error', (e) => { console.log(e.code); process.exit(0); });
server.listen(process.argv[2], () => { console.log('listening'); server.close(); });
`;

export async function pairCases(lane) {
  const w = lane.wine;
  const cfg = ['--config-dir', w.win('pairs/cfg')];
  writeTree(w.here('pairs/src'), { 'a.txt': 'a' }, Date.UTC(2026, 0, 1) / 1000);
  const list = async () => (await lane.synctrayJson(['pair', 'list', ...cfg])).json ?? [];

  await lane.check('pair add, list, pause, resume, remove', async () => {
    const add = await lane.synctray(['pair', 'add', w.win('pairs/src'), w.win('pairs/dst'), '--name', 'docs', ...cfg]);
    expect(add.status === 0, 'pair add failed', shown(add));
    let pairs = await list();
    expect(pairs.length === 1 && pairs[0].source === w.win('pairs/src'), 'pair list does not show it', pairs);
    for (const [verb, paused] of [
      ['pause', true],
      ['resume', false],
    ]) {
      const r = await lane.synctray(['pair', verb, 'docs', ...cfg]);
      pairs = await list();
      expect(r.status === 0 && pairs[0]?.paused === paused, `pair ${verb} did not take`, shown(r));
    }
    const remove = await lane.synctray(['pair', 'remove', 'docs', ...cfg]);
    expect(remove.status === 0 && (await list()).length === 0, 'pair remove did not take', shown(remove));
  });
}

export async function serviceCases(lane) {
  const w = lane.wine;
  const cfg = ['--config-dir', w.win('svc/cfg')];
  writeTree(w.here('svc/src'), { 'a.txt': 'a', 'sub/b.txt': 'b' }, Date.UTC(2026, 0, 1) / 1000);
  const add = await lane.synctray(['pair', 'add', w.win('svc/src'), w.win('svc/dst'), '--name', 'svc', ...cfg]);
  const running = async () => {
    const r = await lane.synctray(['status', ...cfg]);
    return r.status === 0 && /svc: idle/.test(r.stdout) ? r : undefined;
  };
  // The lock is a folder holding one file named `<pid>-<token>` (src/config/pid-lock.ts).
  const lockPid = () => Number.parseInt(fs.readdirSync(w.here('svc/cfg/synctray.lock'))[0] ?? '', 10);
  let first = lane.startSynctray(['run', ...cfg]);
  try {
    await lane.check('run syncs its pair, and status from a second process reads it over the named pipe', async () => {
      expect(add.status === 0, 'pair add failed', shown(add));
      const status = await waitFor(running, 'status to say the pair is idle');
      expect(/SyncTray is running/.test(status.stdout), 'status does not say SyncTray runs', shown(status));
      expect(fs.readFileSync(w.here('svc/dst/sub/b.txt'), 'utf8') === 'b', 'the pair was not synced');
      const service = JSON.parse(fs.readFileSync(w.here('svc/cfg/service.json'), 'utf8'));
      expect(service.socket.startsWith('\\\\.\\pipe\\'), `the control socket is ${service.socket}, not a pipe`);
    });

    await lane.check('a second run for the same config is refused, naming the first', async () => {
      const second = await lane.synctray(['run', ...cfg]);
      expect(second.status === 2, 'a second run was not refused (exit 2)', shown(second));
      expect(second.stderr.includes(`already running (pid ${lockPid()})`), 'it does not name the first', shown(second));
    });

    await lane.check('a second server on the control pipe', async () => {
      const { socket } = JSON.parse(fs.readFileSync(w.here('svc/cfg/service.json'), 'utf8'));
      fs.writeFileSync(w.here('listen.js'), SECOND_SERVER);
      const r = await w.exec([lane.node(), w.win('listen.js'), socket]);
      const said = r.stdout.trim();
      if (said === 'listening') {
        lane.skip(
          'the control pipe refusing a second server',
          'Wine let a second server listen on the same pipe name, ' +
            'where Windows refuses it (EADDRINUSE); only a real Windows machine can check it',
        );
        return;
      }
      expect(said === 'EADDRINUSE', 'a second server was neither refused nor let in', shown(r));
    });

    await lane.check('a run killed leaves its lock, which the next run takes over', async () => {
      const killedPid = lockPid();
      first.child.kill('SIGKILL');
      await first.exited;
      expect(fs.existsSync(w.here('svc/cfg/synctray.lock')), 'the killed run left no lock');
      const stopped = await lane.synctray(['status', ...cfg]);
      expect(stopped.status === 3, 'status after the kill does not say not running (exit 3)', shown(stopped));
      first = lane.startSynctray(['run', ...cfg]);
      await waitFor(running, 'the next run to say the pair is idle');
      expect(lockPid() !== killedPid, `the lock still names the killed run (${killedPid})`);
    });
  } finally {
    first.child.kill('SIGKILL');
    await first.exited;
  }
}

export async function autostartCases(lane) {
  const w = lane.wine;
  const query = () => w.exec(['reg', 'query', RUN_KEY, '/v', 'SyncTray']);
  await lane.check('autostart on, status, off write and remove the HKCU Run value', async () => {
    const on = await lane.synctray(['autostart', 'on']);
    expect(on.status === 0, 'autostart on failed', shown(on));
    const value = await query();
    expect(value.status === 0 && /node\.exe.*main\.js.*tray/i.test(value.stdout), 'no Run value', shown(value));
    const status = await lane.synctrayJson(['autostart', 'status']);
    expect(status.json?.enabled === true, 'autostart status does not say enabled', shown(status));
    const off = await lane.synctray(['autostart', 'off']);
    expect(off.status === 0 && (await query()).status !== 0, 'the Run value is still there', shown(off));
    const after = await lane.synctrayJson(['autostart', 'status']);
    expect(after.json?.enabled === false, 'autostart status still says enabled', shown(after));
  });
}
