import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { pooledConnections } from '../../src/kube/kubeconfig.ts';

type Create = (cluster: unknown, agentOptions: Record<string, unknown>) => { close(): Promise<void> } | undefined;

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('pooledConnections', () => {
  it('hands every request the same dispatcher while the TLS settings stay the same', () => {
    const kc = pooledConnections(kubeConfig());
    const create = (kc as unknown as { createDispatcher: Create }).createDispatcher;
    const cluster = kc.getCurrentCluster();
    const a = create(cluster, { ca: Buffer.from('CA-1'), cert: Buffer.from('C'), key: Buffer.from('K') });
    expect(a).toBeDefined();
    expect(create(cluster, { ca: Buffer.from('CA-1'), cert: Buffer.from('C'), key: Buffer.from('K') })).toBe(a);
  });

  it('builds a new one when the certificate changes (rotation) and closes the old one', () => {
    const kc = pooledConnections(kubeConfig());
    const create = (kc as unknown as { createDispatcher: Create }).createDispatcher;
    const cluster = kc.getCurrentCluster();
    const a = create(cluster, { ca: Buffer.from('CA-1'), cert: Buffer.from('C-1'), key: Buffer.from('K') })!;
    const close = vi.spyOn(a, 'close');
    const b = create(cluster, { ca: Buffer.from('CA-1'), cert: Buffer.from('C-2'), key: Buffer.from('K') });
    expect(b).toBeDefined();
    expect(b).not.toBe(a);
    expect(close).toHaveBeenCalled();
  });

  it('wraps once, however often it is applied', () => {
    const kc = kubeConfig();
    pooledConnections(kc);
    const first = (kc as unknown as { createDispatcher: Create }).createDispatcher;
    pooledConnections(kc);
    expect((kc as unknown as { createDispatcher: Create }).createDispatcher).toBe(first);
  });
});
