import { backoffDelay } from './backoff.ts';

export interface WorkQueueOptions {
  /** First retry delay after a failure; doubles per consecutive failure of the same key. */
  baseDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
  now?: () => number;
}

export interface WorkQueueMetrics {
  onAdd?(key: string): void;
  onDepth?(depth: number): void;
  /** Time a key waited between becoming ready and being handed to a worker. */
  onQueueLatency?(seconds: number): void;
  onRetry?(key: string): void;
}

/**
 * A keyed work queue in the shape of client-go's: a key is never processed by two workers at once;
 * adds while it is queued collapse into one; adds while it is being processed mark it dirty so it
 * runs once more after done(). Per-key failure counts drive exponential backoff with jitter;
 * addAfter() delays a key (for polling), keeping the earliest requested time.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly readySince = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly opts: Required<Omit<WorkQueueOptions, 'random' | 'now'>> & { random: () => number; now: () => number };
  private readonly metrics: WorkQueueMetrics;

  constructor(opts: WorkQueueOptions, metrics: WorkQueueMetrics = {}) {
    this.opts = { random: Math.random, now: Date.now, ...opts };
    this.metrics = metrics;
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Makes a key ready now (cancels a pending delayed add: the key runs now instead). */
  add(key: string): void {
    if (this.shuttingDown) return;
    this.metrics.onAdd?.(key);
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      this.timers.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.readySince.set(key, this.opts.now());
    const waiter = this.waiters.shift();
    if (waiter) {
      this.take(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.metrics.onDepth?.(this.queue.length);
  }

  /** Adds the key after delayMs; an earlier pending time wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.opts.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Re-adds after this key's next backoff delay; returns the delay. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    this.metrics.onRetry?.(key);
    const delay = backoffDelay(n, this.opts.baseDelayMs, this.opts.maxDelayMs, this.opts.random);
    this.addAfter(key, delay);
    return delay;
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resets the key's backoff (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Waits for the next ready key; undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown && this.queue.length === 0) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.take(key);
      this.metrics.onDepth?.(this.queue.length);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private take(key: string): void {
    this.queued.delete(key);
    this.processing.add(key);
    const since = this.readySince.get(key);
    this.readySince.delete(key);
    if (since !== undefined) this.metrics.onQueueLatency?.((this.opts.now() - since) / 1000);
  }

  /** Marks processing finished; a key re-added meanwhile becomes ready again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** Stops handing out work; pending timers are dropped; waiting get() calls resolve undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }
}
