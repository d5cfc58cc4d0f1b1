import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AWS_REGIONS } from '../../src/domain/regions.ts';
import { document } from '../../scripts/openapi.ts';

const root = join(import.meta.dirname, '..', '..');

describe('the image API contract', () => {
  it('api/openapi.json is what scripts/openapi.ts generates', () => {
    expect(JSON.parse(readFileSync(join(root, 'api', 'openapi.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('knows every AWS Region the installed SDK knows', () => {
    const sdk = readFileSync(join(root, 'node_modules', '@aws-sdk', 'core', 'dist-cjs', 'submodules', 'client', 'index.js'), 'utf8');
    const block = sdk.slice(sdk.indexOf('const partitionsInfo'), sdk.indexOf('let selectedPartitionsInfo'));
    const fromSdk = [...block.matchAll(/^\s+"([a-z]{2}(?:-[a-z]+)+-\d+)": \{/gm)].map((m) => m[1]!);
    expect(fromSdk.length).toBeGreaterThan(30);
    expect([...new Set(fromSdk)].sort()).toEqual([...AWS_REGIONS].sort());
  });
});
