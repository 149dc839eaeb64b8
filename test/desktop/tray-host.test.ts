import { describe, expect, it } from 'vitest';
import { trayHostMissing } from '../../src/desktop/tray-host.js';

describe('whether the tray icon can be seen', () => {
  it('says why not on GNOME without a StatusNotifier host, naming the extension and synctray status', () => {
    for (const desktop of ['GNOME', 'ubuntu:GNOME', 'gnome'])
      for (const registered of [false, undefined]) {
        const why = trayHostMissing(desktop, registered);
        expect(why, `${desktop} ${registered}`).toContain('AppIndicator extension');
        expect(why).toContain("'synctray status'");
      }
  });

  it('trusts GNOME with a host, and every other desktop', () => {
    expect(trayHostMissing('GNOME', true)).toBeUndefined();
    for (const desktop of ['KDE', 'XFCE', 'X-Cinnamon', 'LXQt', 'GNOME-Flashback-ish', undefined])
      expect(trayHostMissing(desktop, false), desktop).toBeUndefined();
  });
});
