/** At most `size` pieces of work under way at once; the others wait their turn, first come first served. */
export class Lanes {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy < this.size) this.busy++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The lane goes straight to the next in line, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}
