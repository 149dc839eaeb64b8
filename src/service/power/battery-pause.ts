import type { PowerSource, PowerWatch } from './watch-power.js';

/**
 * The setting pause-on-battery, switched on and off while the service runs: while on, the power
 * source is followed and every change told as on battery or not; off, it is told "not" once.
 */
export class BatteryPause {
  private watch: PowerWatch | undefined;

  constructor(
    /** Starts following the power source; absent where nothing can read it. */
    private readonly watchPower: ((onChange: (source: PowerSource) => void) => PowerWatch) | undefined,
    private readonly onBattery: (battery: boolean) => void,
  ) {}

  /** Resolves once the first reading is told (at once when switched off). */
  set(on: boolean): Promise<void> {
    if (!on) {
      this.close();
      this.onBattery(false);
      return Promise.resolve();
    }
    if (!this.watch && this.watchPower) this.watch = this.watchPower((source) => this.onBattery(source === 'battery'));
    return this.watch?.ready ?? Promise.resolve();
  }

  close(): void {
    this.watch?.close();
    this.watch = undefined;
  }
}
