import type { TestProject } from 'vitest/node';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from './control-plane.ts';
import { kubectlOk } from './kubectl.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    controlPlaneDir: string;
  }
}

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One real control plane for the whole run; each test file works in namespaces of its own. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const cp = await ControlPlane.start();
  process.stderr.write(`control plane (${cp.assets.source}) ready in ${Date.now() - started} ms at ${cp.server}\n`);
  await kubectlOk(cp.kubeconfigPath, ['apply', '-k', join(repo, 'crds')]);
  await kubectlOk(cp.kubeconfigPath, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/customimages.pcluster.imageops.dev']);
  project.provide('kubeconfig', cp.kubeconfigPath);
  project.provide('controlPlaneDir', cp.dir);
  return async () => {
    await cp.stop();
  };
}
