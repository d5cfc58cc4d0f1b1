import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { GROUP, PLURAL, VERSION, type CustomImage } from '../../src/api/customimage.ts';
import { KubeCustomImageApi, LIST_PAGE_SIZE } from '../../src/kube/api.ts';
import { pooledConnections } from '../../src/kube/kubeconfig.ts';
import { SupervisedInformer } from '../../src/runtime/informer.ts';
import { kubectl, kubectlOk } from '../env/kubectl.ts';

// The cache the operator keeps of every CustomImage: complete as a list of pages, and trimmed.
const kubeconfig = inject('kubeconfig');
const ns = 'informer-cache';
const N = LIST_PAGE_SIZE + 20; // more than one page
let kc: KubeConfig;

const manifest = (i: number) => stringify({ apiVersion: `${GROUP}/${VERSION}`, kind: 'CustomImage', metadata: { name: `img-${i}`, namespace: ns, annotations: { team: 'hpc' } }, spec: { imageId: `img-${i}` } });

beforeAll(async () => {
  kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  await kubectlOk(kubeconfig, ['create', 'namespace', ns]);
  // client-side apply: every object carries managedFields and kubectl's last-applied annotation
  await kubectlOk(kubeconfig, ['apply', '-f', '-'], Array.from({ length: N }, (_, i) => manifest(i)).join('---\n'));
}, 120_000);

afterAll(async () => {
  await kubectl(kubeconfig, ['delete', 'namespace', ns, '--wait=false']);
});

describe('the informer cache', () => {
  it('lists every object across pages and keeps them without managedFields or the last-applied copy', async () => {
    const api = new KubeCustomImageApi(kc, { timeoutMs: 30_000, fieldManager: 'test' });
    const raw = await api.list(ns, undefined);
    expect(raw.items).toHaveLength(N);
    expect(raw.items[0]!.metadata.managedFields).toBeDefined(); // the apiserver really sends them
    expect(raw.metadata?.resourceVersion).toMatch(/^\d+$/);

    const events: string[] = [];
    const informer = new SupervisedInformer<CustomImage>(kc, {
      path: `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`,
      list: (keep) => api.list(ns, undefined, keep),
      log: pino({ level: 'silent' }),
      onEvent: (type, o) => events.push(`${type}:${o.metadata.name}`),
    });
    await informer.start();
    try {
      expect(informer.hasSynced).toBe(true);
      expect(informer.list()).toHaveLength(N);
      expect(new Set(informer.list().map((o) => o.metadata.name)).size).toBe(N);
      for (const o of informer.list()) {
        expect(o.metadata.managedFields).toBeUndefined();
        expect(o.metadata.annotations).toEqual({ team: 'hpc' });
        expect(o.spec.imageId).toBe(o.metadata.name);
      }
      // an object arriving through the watch is trimmed as well
      await kubectlOk(kubeconfig, ['apply', '-f', '-'], manifest(N));
      const deadline = Date.now() + 15_000;
      while (!informer.get(`img-${N}`, ns) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const watched = informer.get(`img-${N}`, ns);
      expect(watched?.metadata.uid).toBeTruthy();
      expect(watched?.metadata.managedFields).toBeUndefined();
      expect(watched?.metadata.annotations).toEqual({ team: 'hpc' });
      expect(events).toContain(`add:img-${N}`);
    } finally {
      await informer.stop();
    }
  }, 120_000);
});

describe('connections to the apiserver', () => {
  it('are pooled: many calls, one dispatcher (client-node alone builds one per request)', async () => {
    const kc2 = new KubeConfig();
    kc2.loadFromFile(kubeconfig);
    const target = kc2 as unknown as { createDispatcher: (...a: unknown[]) => unknown };
    const create = target.createDispatcher.bind(kc2);
    let built = 0;
    target.createDispatcher = (...a: unknown[]) => {
      built++;
      return create(...a);
    };
    const api = new KubeCustomImageApi(pooledConnections(kc2), { timeoutMs: 30_000, fieldManager: 'test' });
    for (let i = 0; i < 20; i++) await api.list(ns, 'none=here');
    expect(built).toBe(1);
  });
});
