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
 * addAfter() delays a key (for polling), keeping the earliest requested time. Delayed keys wait in
 * one min-heap behind one timer, as in client-go's delaying queue: with 10,000 live images each
 * waiting for its resync, a timer per key cost ~400 bytes each.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly readySince = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  /** Delayed keys: when each is due. The heap may also hold superseded entries; `due` decides. */
  private readonly due = new Map<string, number>();
  private readonly heap: DueEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
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
    this.due.delete(key); // its heap entry is now superseded
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
    const existing = this.due.get(key);
    if (existing !== undefined && existing <= at) return;
    this.due.set(key, at);
    heapPush(this.heap, { at, key });
    this.arm();
  }

  /** Keeps the one timer set for the earliest due key. */
  private arm(): void {
    const next = this.heap[0];
    if (!next || this.shuttingDown) return;
    if (this.timer && this.timerAt <= next.at) return;
    clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = setTimeout(() => this.fire(), Math.max(1, next.at - this.opts.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.opts.now();
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const { at, key } = heapPop(this.heap)!;
      if (this.due.get(key) !== at) continue; // superseded by an earlier time or an add()
      this.due.delete(key);
      this.add(key);
    }
    this.arm();
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
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due.clear();
    this.heap.length = 0;
    this.queue.length = 0;
    this.queued.clear();
    for (const w of this.waiters) w(undefined);
    this.waiters = [];
  }
}

interface DueEntry {
  at: number;
  key: string;
}

function heapPush(h: DueEntry[], e: DueEntry): void {
  h.push(e);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (h[parent]!.at <= e.at) break;
    h[i] = h[parent]!;
    i = parent;
  }
  h[i] = e;
}

function heapPop(h: DueEntry[]): DueEntry | undefined {
  const top = h[0];
  const last = h.pop();
  if (h.length === 0 || !last) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= h.length) break;
    const c = l + 1 < h.length && h[l + 1]!.at < h[l]!.at ? l + 1 : l;
    if (h[c]!.at >= last.at) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = last;
  return top;
}
