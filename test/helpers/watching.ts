/** A running `synctray watch --json` and the JSON lines it printed, for tests that wait on them. */
import { startCli, type RunningCli } from './cli.js';
import { waitFor } from './wait-for.js';

export type Line = Record<string, unknown> & { event: string };

/** A running `watch --json`, its JSON lines as they come. */
export class Watching {
  readonly lines: Line[] = [];
  private readonly run: RunningCli;
  private buffer = '';

  constructor(src: string, dst: string, ...options: string[]) {
    this.run = startCli(['watch', src, dst, '--json', ...options]);
    this.run.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i: number; (i = this.buffer.indexOf('\n')) >= 0; ) {
        this.lines.push(JSON.parse(this.buffer.slice(0, i)) as Line);
        this.buffer = this.buffer.slice(i + 1);
      }
    });
  }

  /** Waits for a line matching `test` among those after the first `from`. */
  async next(what: string, test: (l: Line) => boolean, from = 0, timeoutMs = 15_000): Promise<Line> {
    let found: Line | undefined;
    await waitFor(
      () => (found = this.lines.slice(from).find(test)) !== undefined,
      `${what} (lines so far: ${JSON.stringify(this.lines)})`,
      {
        timeoutMs,
        intervalMs: 5,
      },
    );
    return found!;
  }

  async stop() {
    this.run.child.kill('SIGINT');
    return this.run.done;
  }
}
