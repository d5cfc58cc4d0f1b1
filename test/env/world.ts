import { CoreV1Api, CustomObjectsApi, KubeConfig, type CoreV1Event } from '@kubernetes/client-node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GROUP, PLURAL, VERSION, type CustomImage, type CustomImageSpec } from '../../src/api/customimage.ts';
import { FaultProxy } from './fault-proxy.ts';
import { FixtureBuilder } from './fixtures.ts';
import { kubectl, kubectlOk } from './kubectl.ts';
import { Moto } from './moto.ts';
import { OperatorProcess } from './operator-process.ts';

/**
 * Everything one integration test file needs: its own moto behind its own fault layer, a fixture
 * builder, the shared real apiserver (a namespace of its own), and the operator as a process.
 */
export class World {
  readonly namespace: string;
  readonly kubeconfig: string;
  readonly dir: string;
  moto!: Moto;
  faults!: FaultProxy;
  fixtures!: FixtureBuilder;
  operator!: OperatorProcess;
  readonly kc: KubeConfig;
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;

  constructor(kubeconfig: string, namespace: string) {
    this.kubeconfig = kubeconfig;
    this.namespace = namespace;
    this.dir = mkdtempSync(join(tmpdir(), `pio-world-${namespace}-`));
    this.kc = new KubeConfig();
    this.kc.loadFromFile(kubeconfig);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.core = this.kc.makeApiClient(CoreV1Api);
  }

  static async start(kubeconfig: string, namespace: string, opts: { operator?: boolean; operatorArgs?: string[] } = {}): Promise<World> {
    const w = new World(kubeconfig, namespace);
    w.moto = await Moto.start();
    w.faults = await new FaultProxy(w.moto.endpoint).start();
    w.fixtures = new FixtureBuilder(w.moto.endpoint);
    await kubectlOk(kubeconfig, ['create', 'namespace', namespace]);
    w.operator = new OperatorProcess({ kubeconfig, awsEndpoint: w.faults.endpoint, namespace, logFile: join(w.dir, 'operator.log'), extraArgs: opts.operatorArgs ?? [] });
    if (opts.operator !== false) w.operator.start();
    return w;
  }

  async stop(): Promise<void> {
    await this.operator?.stop();
    await this.faults?.stop();
    await this.moto?.stop();
  }

  /** Between tests: forget AWS state and fault rules. */
  async reset(): Promise<void> {
    this.faults.reset();
    await this.moto.reset();
    this.fixtures = new FixtureBuilder(this.moto.endpoint);
  }

  manifest(name: string, spec: CustomImageSpec, annotations?: Record<string, string>): string {
    return stringify({ apiVersion: `${GROUP}/${VERSION}`, kind: 'CustomImage', metadata: { name, namespace: this.namespace, ...(annotations ? { annotations } : {}) }, spec });
  }

  /** `kubectl apply` a CustomImage, as a user would. */
  async apply(name: string, spec: CustomImageSpec, annotations?: Record<string, string>): Promise<void> {
    await kubectlOk(this.kubeconfig, ['apply', '-f', '-'], this.manifest(name, spec, annotations));
  }

  kubectl(args: string[], input?: string) {
    return kubectl(this.kubeconfig, ['-n', this.namespace, ...args], input);
  }

  async get(name: string): Promise<CustomImage | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL, name })) as CustomImage;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  /** Polls until pred holds for the object (undefined = gone), or fails with the last state seen. */
  async waitFor(name: string, pred: (o: CustomImage | undefined) => boolean, timeoutMs = 60_000, what = 'condition'): Promise<CustomImage | undefined> {
    const deadline = Date.now() + timeoutMs;
    let last: CustomImage | undefined;
    for (;;) {
      last = await this.get(name);
      if (pred(last)) return last;
      if (Date.now() > deadline) throw new Error(`${name}: ${what} not reached in ${timeoutMs} ms; last seen: ${JSON.stringify(last?.status ?? last ?? 'gone')}\noperator log tail:\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  waitGone(name: string, timeoutMs = 60_000): Promise<CustomImage | undefined> {
    return this.waitFor(name, (o) => o === undefined, timeoutMs, 'disappearance');
  }

  async events(name: string): Promise<CoreV1Event[]> {
    const list = await this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector: `involvedObject.name=${name}` });
    return list.items;
  }

  logTail(n = 20): string {
    return this.operator
      .logLines()
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }
}

export function condition(o: CustomImage | undefined, type: string) {
  return o?.status?.conditions?.find((c) => c.type === type);
}
