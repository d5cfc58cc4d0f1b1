import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The IAM policy names every AWS action the code calls, and no other.
const root = join(import.meta.dirname, '..', '..');
const policy = JSON.parse(readFileSync(join(root, 'manifests', 'iam', 'operator-policy.json'), 'utf8')) as { Statement: { Action: string[]; Resource: string | string[] }[] };

/** SDK command → IAM actions (S3's differ from its API names). */
const IAM_FOR: Record<string, string[]> = {
  'client-s3:ListObjectVersions': ['s3:ListBucketVersions'],
  'client-s3:DeleteObjects': ['s3:DeleteObject', 's3:DeleteObjectVersion'],
};
const PREFIX: Record<string, string> = { 'client-ec2': 'ec2', 'client-cloudformation': 'cloudformation', 'client-s3': 's3', 'client-cloudwatch-logs': 'logs' };

function actionsCalledByCode(): string[] {
  const src = readFileSync(join(root, 'src', 'aws', 'image-store.ts'), 'utf8');
  const out = new Set<string>();
  for (const m of src.matchAll(/import \{([^}]+)\} from '@aws-sdk\/(client-[a-z0-9-]+)'/g)) {
    const pkg = m[2]!;
    for (const name of m[1]!.split(',').map((s) => s.trim())) {
      const cmd = /^(\w+)Command$/.exec(name)?.[1];
      if (!cmd) continue;
      if (!new RegExp(`new ${cmd}Command\\(`).test(src)) continue; // imported but not called
      for (const a of IAM_FOR[`${pkg}:${cmd}`] ?? [`${PREFIX[pkg]}:${cmd}`]) out.add(a);
    }
  }
  return [...out].sort();
}

describe('IAM policy', () => {
  it('is valid JSON with statements', () => {
    expect(policy.Statement.length).toBeGreaterThan(0);
  });

  it('allows exactly the actions the code calls', () => {
    const inPolicy = [...new Set(policy.Statement.flatMap((s) => s.Action))].sort();
    const called = actionsCalledByCode();
    expect(called.length).toBeGreaterThanOrEqual(13);
    expect(inPolicy).toEqual(called);
  });

  it('uses no action wildcards, and scopes every delete to ParallelCluster resources', () => {
    for (const s of policy.Statement) for (const a of s.Action) expect(a).not.toContain('*');
    const deletes = policy.Statement.filter((s) => s.Action.some((a) => /:(Delete|Deregister)/.test(a)));
    for (const s of deletes) expect(s.Resource).not.toBe('*');
  });
});
