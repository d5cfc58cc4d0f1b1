// Draws docs/throughput.svg from a benchmark result: images remaining over time against the
// fastest the token-bucket model allows (the binding bucket refilling from full).
//   node bench/plot.ts docs/bench-results/bench-<date>.json
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Throughput {
  images: number;
  seconds: number;
  lowerBoundSeconds: number;
  bindingAction: string;
  buckets: Record<string, { capacity: number; refillPerSecond: number }>;
  remainingOverTime: [number, number][];
  awsCallsPerDeletion: Record<string, number>;
}

export function throughputSvg(t: Throughput): string {
  const W = 720;
  const H = 420;
  const m = { l: 60, r: 20, t: 40, b: 50 };
  const maxT = Math.max(t.seconds, t.lowerBoundSeconds) * 1.05;
  const x = (s: number) => m.l + (s / maxT) * (W - m.l - m.r);
  const y = (n: number) => H - m.b - (n / t.images) * (H - m.t - m.b);
  const measured = t.remainingOverTime.map(([s, n]) => `${x(s).toFixed(1)},${y(n).toFixed(1)}`).join(' ');
  const b = t.buckets[t.bindingAction] ?? { capacity: t.images, refillPerSecond: 1 };
  // the binding action's calls per deletion turn its token rate into a deletion rate
  const per = t.awsCallsPerDeletion[t.bindingAction] ?? 1;
  const boundPts: string[] = [];
  for (let s = 0; s <= maxT; s += maxT / 200) boundPts.push(`${x(s).toFixed(1)},${y(Math.max(0, t.images - Math.min(t.images, (b.capacity + b.refillPerSecond * s) / per))).toFixed(1)}`);
  const ticks = (n: number, max: number) => Array.from({ length: n + 1 }, (_, i) => (max * i) / n);
  const xt = ticks(6, maxT)
    .map((s) => `<line x1="${x(s)}" y1="${H - m.b}" x2="${x(s)}" y2="${H - m.b + 5}" stroke="#333"/><text x="${x(s)}" y="${H - m.b + 20}" text-anchor="middle">${s.toFixed(0)}</text>`)
    .join('');
  const yt = ticks(5, t.images)
    .map((n) => `<line x1="${m.l - 5}" y1="${y(n)}" x2="${m.l}" y2="${y(n)}" stroke="#333"/><text x="${m.l - 8}" y="${y(n) + 4}" text-anchor="end">${n.toFixed(0)}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${t.images} CustomImages deleted at once: remaining over time</text>
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>
${xt}${yt}
<text x="${W / 2}" y="${H - 12}" text-anchor="middle">seconds since kubectl delete</text>
<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">CustomImages remaining</text>
<polyline fill="none" stroke="#999" stroke-width="2" stroke-dasharray="6 4" points="${boundPts.join(' ')}"/>
<polyline fill="none" stroke="#1f6feb" stroke-width="2.5" points="${measured}"/>
<rect x="${W - 330}" y="${m.t + 5}" width="305" height="44" fill="white" stroke="#ccc"/>
<line x1="${W - 320}" y1="${m.t + 20}" x2="${W - 290}" y2="${m.t + 20}" stroke="#1f6feb" stroke-width="2.5"/><text x="${W - 284}" y="${m.t + 24}">measured (${t.seconds} s)</text>
<line x1="${W - 320}" y1="${m.t + 38}" x2="${W - 290}" y2="${m.t + 38}" stroke="#999" stroke-width="2" stroke-dasharray="6 4"/><text x="${W - 284}" y="${m.t + 42}">bucket bound, ${t.bindingAction} (${t.lowerBoundSeconds} s)</text>
</svg>
`;
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node bench/plot.ts <bench result json>');
  const result = JSON.parse(readFileSync(file, 'utf8')) as { throughput: Throughput };
  const out = join(import.meta.dirname, '..', 'docs', 'throughput.svg');
  writeFileSync(out, throughputSvg(result.throughput));
  process.stdout.write(`wrote ${out}\n`);
}
