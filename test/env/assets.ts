import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ETCD_VERSION, KUBERNETES_VERSION } from './versions.ts';

export interface ControlPlaneAssets {
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
  source: 'KUBEBUILDER_ASSETS' | 'TEST_ASSET_*' | 'cache' | 'built';
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folder outside the repo where built binaries live, keyed by both versions. */
export function cacheDir(): string {
  const base = process.env.PIO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pcluster-image-operator');
  return join(base, 'control-plane', `k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}`);
}

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function kubectlPath(dir?: string): string {
  const fromEnv = process.env.TEST_ASSET_KUBECTL;
  if (fromEnv) return fromEnv;
  if (dir && existsSync(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  const onPath = which('kubectl');
  if (!onPath) throw new Error('kubectl not found: install kubectl on PATH or set TEST_ASSET_KUBECTL / KUBEBUILDER_ASSETS');
  return onPath;
}

/**
 * Finds kube-apiserver and etcd the envtest way (KUBEBUILDER_ASSETS, then TEST_ASSET_*), else
 * from the versioned cache, else builds them there (minutes, once per machine).
 */
export function resolveAssets(): ControlPlaneAssets {
  const kb = process.env.KUBEBUILDER_ASSETS;
  if (kb) {
    const a = { kubeApiserver: join(kb, 'kube-apiserver'), etcd: join(kb, 'etcd') };
    for (const p of Object.values(a)) if (!existsSync(p)) throw new Error(`KUBEBUILDER_ASSETS=${kb} has no ${p}`);
    return { ...a, kubectl: kubectlPath(kb), source: 'KUBEBUILDER_ASSETS' };
  }
  const api = process.env.TEST_ASSET_KUBE_APISERVER;
  const etcd = process.env.TEST_ASSET_ETCD;
  if (api && etcd) return { kubeApiserver: api, etcd, kubectl: kubectlPath(), source: 'TEST_ASSET_*' };

  const dir = cacheDir();
  const cached = { kubeApiserver: join(dir, 'kube-apiserver'), etcd: join(dir, 'etcd') };
  if (existsSync(cached.kubeApiserver) && existsSync(cached.etcd)) return { ...cached, kubectl: kubectlPath(), source: 'cache' };

  if (!which('go')) {
    throw new Error(
      `kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} are not in ${dir} and Go is not installed to build them. ` +
        'Install Go (1.24+), or point KUBEBUILDER_ASSETS at a folder holding kube-apiserver, etcd and kubectl.',
    );
  }
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`control plane: building kube-apiserver ${KUBERNETES_VERSION} and etcd ${ETCD_VERSION} into ${dir} (first run on this machine only)\n`);
  // flock serialises concurrent first runs (e.g. `npm test` and `npm run dev` started together)
  execFileSync('flock', [join(dir, '.lock'), 'bash', join(repoRoot, 'scripts', 'build-control-plane.sh'), KUBERNETES_VERSION, ETCD_VERSION, dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { ...cached, kubectl: kubectlPath(), source: 'built' };
}
