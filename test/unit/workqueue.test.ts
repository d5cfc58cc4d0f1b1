import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/runtime/backoff.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';

const q = () => new WorkQueue({ baseDelayMs: 10, maxDelayMs: 1000, random: () => 1 });

describe('WorkQueue', () => {
  it('collapses repeated adds of a queued key into one', async () => {
    const wq = q();
    wq.add('a');
    wq.add('a');
    wq.add('b');
    expect(wq.depth).toBe(2);
    expect(await wq.get()).toBe('a');
    expect(await wq.get()).toBe('b');
  });

  it('never hands out a key that is being processed; an add meanwhile reruns it once after done', async () => {
    const wq = q();
    wq.add('a');
    const first = await wq.get();
    wq.add('a');
    wq.add('a');
    expect(wq.depth).toBe(0); // held back while processing
    let second: string | undefined;
    void wq.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    wq.done(first!);
    await Promise.resolve();
    expect(second).toBe('a');
    wq.done('a');
    expect(wq.depth).toBe(0);
  });

  it('backs off per key, doubling, and forget() resets it', () => {
    const wq = q();
    expect(wq.addRateLimited('a')).toBe(10);
    expect(wq.addRateLimited('a')).toBe(20);
    expect(wq.addRateLimited('a')).toBe(40);
    expect(wq.addRateLimited('b')).toBe(10);
    wq.forget('a');
    expect(wq.addRateLimited('a')).toBe(10);
    wq.shutDown();
  });

  it('addAfter keeps the earliest requested time, and add() now overrides a delay', async () => {
    const wq = q();
    wq.addAfter('a', 5000);
    wq.addAfter('a', 20);
    await new Promise((r) => setTimeout(r, 60));
    expect(wq.depth).toBe(1);
    expect(await wq.get()).toBe('a');
    wq.done('a');
    wq.addAfter('b', 10_000);
    wq.add('b');
    expect(wq.depth).toBe(1);
    wq.shutDown();
  });

  it('hands out delayed keys in the order they fall due, whatever order they were added in', async () => {
    const wq = q();
    const delays = [40, 5, 25, 15, 35, 10, 30, 20];
    delays.forEach((d, i) => wq.addAfter(`k${i}`, d));
    await new Promise((r) => setTimeout(r, 80));
    const out: string[] = [];
    while (wq.depth > 0) out.push((await wq.get())!);
    expect(out).toEqual([...delays.keys()].sort((a, b) => delays[a]! - delays[b]!).map((i) => `k${i}`));
    wq.shutDown();
  });

  it('a delay superseded by add() does not fire later: the key runs once', async () => {
    const wq = q();
    wq.addAfter('a', 10);
    wq.add('a');
    expect(await wq.get()).toBe('a');
    wq.done('a');
    await new Promise((r) => setTimeout(r, 40));
    expect(wq.depth).toBe(0);
    wq.addAfter('b', 30);
    wq.addAfter('b', 5); // the earlier time wins; the 30 ms entry is stale
    await new Promise((r) => setTimeout(r, 15));
    expect(wq.depth).toBe(1);
    expect(await wq.get()).toBe('b');
    wq.done('b');
    await new Promise((r) => setTimeout(r, 40));
    expect(wq.depth).toBe(0);
    wq.shutDown();
  });

  it('resolves waiting workers with undefined on shutdown and ignores later adds', async () => {
    const wq = q();
    const waiting = wq.get();
    wq.shutDown();
    expect(await waiting).toBeUndefined();
    wq.add('x');
    expect(wq.depth).toBe(0);
  });

  it('reports queue latency and depth to metrics hooks', async () => {
    let now = 1000;
    const latencies: number[] = [];
    const wq = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 100, now: () => now }, { onQueueLatency: (s) => latencies.push(s) });
    wq.add('a');
    now += 1500;
    await wq.get();
    expect(latencies).toEqual([1.5]);
  });
});

describe('backoffDelay', () => {
  it('stays within [exp/2, exp] and under the cap', () => {
    expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(30, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(30, 100, 10_000, () => 0)).toBe(5_000);
  });
});
