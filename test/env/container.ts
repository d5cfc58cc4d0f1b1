import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { onExit } from './processes.ts';

const repo = join(import.meta.dirname, '..', '..');

/** What `npm run build` (scripts/bundle.ts) writes and the container runs. */
export const BUNDLE = join(repo, 'dist', 'operator.mjs');

/**
 * How the container runs the operator, read from the Dockerfile (the ENTRYPOINT's Node.js flags,
 * ENV MALLOC_*) and manifests/operator/deployment.yaml (NODE_OPTIONS), so that the memory figures
 * are those of what is deployed.
 */
export function deployedRuntime(): { nodeFlags: string[]; env: Record<string, string> } {
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
  const nodeFlags = entry.slice(1).filter((a) => a.startsWith('--'));
  const env: Record<string, string> = {};
  for (const [line] of dockerfile.matchAll(/^ENV .*$/gm)) for (const [, k, v] of line.matchAll(/(MALLOC_\w+)=(\S+)/g)) env[k!] = v!;
  const doc = parse(readFileSync(join(repo, 'manifests', 'operator', 'deployment.yaml'), 'utf8')) as { spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } } };
  for (const e of doc.spec.template.spec.containers[0]?.env ?? []) if (e.name === 'NODE_OPTIONS' && e.value) env.NODE_OPTIONS = e.value;
  return { nodeFlags, env };
}

/**
 * The container's artifact outside the repository: the bundle built fresh, alone in a temporary
 * directory as the Dockerfile puts it alone in /app, so that nothing it needs at run time can come
 * from node_modules unnoticed.
 */
export function bundleAlone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pio-app-'));
  onExit(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'operator.mjs');
  execFileSync(process.execPath, [join(repo, 'scripts', 'bundle.ts'), '--outfile', script], { stdio: 'ignore' });
  return script;
}
