import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// The Argo CD health check runs in a real Lua 5.1 interpreter (the dialect Argo CD embeds).
const dir = join(import.meta.dirname, '..', '..', 'manifests', 'argocd');
const tests = (parse(readFileSync(join(dir, 'health_test.yaml'), 'utf8')) as { tests: { inputPath: string; healthStatus: { status: string; message: string } }[] }).tests;

function luaLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(luaLiteral).join(', ')}}`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `[${JSON.stringify(k)}] = ${luaLiteral(x)}`).join(', ')}}`;
}

function runHealth(obj: unknown): { status: string; message: string } {
  const wrapper = `local f = assert(loadfile(${JSON.stringify(join(dir, 'health.lua'))}))
setfenv(f, setmetatable({ obj = ${luaLiteral(obj)} }, { __index = _G }))
local hs = f()
io.write(hs.status, "\\n", hs.message or "")`;
  const out = execFileSync('lua5.1', ['-e', wrapper], { encoding: 'utf8' });
  const [status, ...rest] = out.split('\n');
  return { status: status!, message: rest.join('\n') };
}

describe('Argo CD health check (Lua 5.1)', () => {
  it('has a Lua 5.1 interpreter to run in (Debian package lua5.1)', () => {
    expect(spawnSync('lua5.1', ['-v']).status, 'lua5.1 is not installed: apt-get install lua5.1').toBe(0);
  });

  it.each(tests.map((t) => [t.inputPath, t.healthStatus] as const))('%s → %o', (input, expected) => {
    const obj = parse(readFileSync(join(dir, input), 'utf8'));
    expect(runHealth(obj)).toEqual(expected);
  });

  it('ships the same Lua in the argocd-cm snippet', () => {
    const cm = parse(readFileSync(join(dir, 'argocd-cm.yaml'), 'utf8')) as { data: Record<string, string> };
    expect(cm.data['resource.customizations.health.pcluster.imageops.dev_CustomImage']).toBe(readFileSync(join(dir, 'health.lua'), 'utf8'));
  });
});
