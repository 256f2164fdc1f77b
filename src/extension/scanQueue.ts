/**
 * The order in which the extension host reads datasets: first answers first. A large file's head (a provisional
 * summary, milliseconds) is read at once; whole scans (seconds to minutes on a large file) run one at a time, each
 * starting only when no head read is in flight, so a head never shares the thread with a scan that started
 * with it. No `vscode` import: the first-answer benchmark drives this very class.
 */
export class ScanQueue {
  private tail: Promise<void> = Promise.resolve();
  private readonly queued = new Set<string>();
  private readonly headsInFlight = new Set<Promise<unknown>>();

  /** Starts a head read now; whole scans not yet started wait until it has settled. */
  head<T>(read: () => Promise<T>): Promise<T> {
    const reading = read();
    const tracked = reading.then(() => undefined, () => undefined);
    this.headsInFlight.add(tracked);
    void tracked.then(() => this.headsInFlight.delete(tracked));
    return reading;
  }

  /**
   * Queues a whole scan after the ones queued before it and after every head read in flight when its turn comes.
   * A key already waiting is not queued twice; once its scan has started, the key may be queued again (the file
   * changed during the scan). A failing scan never stops the ones after it.
   */
  whole(key: string, scan: () => Promise<unknown>): void {
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.tail = this.tail
      .then(async () => {
        await this.headsSettled();
        this.queued.delete(key);
        await scan();
      })
      .catch(() => {
        this.queued.delete(key);
      });
  }

  isQueued(key: string): boolean {
    return this.queued.has(key);
  }

  /** Resolves when no head read is in flight (heads started meanwhile are waited for too). */
  async headsSettled(): Promise<void> {
    while (this.headsInFlight.size) await Promise.all([...this.headsInFlight]);
  }

  /** Resolves when every scan queued so far has ended (for tests and benchmarks). */
  idle(): Promise<void> {
    return this.tail;
  }
}
