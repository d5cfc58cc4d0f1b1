import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { resolveAssets, type ControlPlaneAssets } from './assets.ts';
import { issueClientCert, makeTestPki, type TestPki } from './certs.ts';
import { freePort, onExit, startManaged, waitFor, type Managed } from './processes.ts';

export interface ControlPlaneOptions {
  /** Write the apiserver's audit log here (request-level, for counting writes by identity). */
  auditLogPath?: string;
  /** Milliseconds to wait for /readyz. Start-up under CI contention has been seen at 30-35 s. */
  readyTimeoutMs?: number;
}

/**
 * A real etcd + kube-apiserver on loopback, RBAC on, like controller-runtime's envtest.
 * Guarantees: free ports, a kubeconfig for an admin identity, everything killed and removed by stop()
 * or when this process exits.
 */
export class ControlPlane {
  readonly dir: string;
  readonly assets: ControlPlaneAssets;
  readonly pki: TestPki;
  readonly kubeconfigPath: string;
  etcd?: Managed;
  apiserver?: Managed;
  apiserverPort = 0;
  private etcdPort = 0;
  private peerPort = 0;
  private readonly opts: ControlPlaneOptions;
  private readonly unregister: () => void;

  private constructor(opts: ControlPlaneOptions) {
    this.opts = opts;
    this.assets = resolveAssets();
    this.dir = mkdtempSync(join(tmpdir(), 'pio-cp-'));
    const dir = this.dir;
    this.unregister = onExit(() => rmSync(dir, { recursive: true, force: true }));
    this.pki = makeTestPki(this.dir);
    this.kubeconfigPath = join(this.dir, 'kubeconfig');
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const cp = new ControlPlane(opts);
    try {
      await cp.startEtcd();
      cp.apiserverPort = await freePort();
      await cp.startApiserver();
      cp.identities.adminKubeconfig(cp.kubeconfigPath);
    } catch (e) {
      await cp.stop();
      throw e;
    }
    return cp;
  }

  get server(): string {
    return `https://127.0.0.1:${this.apiserverPort}`;
  }

  private async startEtcd(): Promise<void> {
    this.etcdPort = await freePort();
    this.peerPort = await freePort();
    const data = join(this.dir, 'etcd-data');
    const client = `http://127.0.0.1:${this.etcdPort}`;
    this.etcd = startManaged('etcd', this.assets.etcd, [
      `--data-dir=${data}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=http://127.0.0.1:${this.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${this.peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${this.peerPort}`,
      '--unsafe-no-fsync=true',
    ], join(this.dir, 'etcd.log'));
    await waitFor('etcd /health', async () => (await fetch(`${client}/health`)).ok, 30_000, 100, this.etcd);
  }

  private async startApiserver(): Promise<void> {
    const certDir = join(this.dir, 'apiserver-certs');
    mkdirSync(certDir, { recursive: true });
    const args = [
      `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${this.apiserverPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // 1.37 refuses a loopback advertise address for the kubernetes Service endpoints; no Service needed here
      '--endpoint-reconciler-type=none',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--disable-admission-plugins=ServiceAccount',
      '--authorization-mode=RBAC',
      `--client-ca-file=${this.pki.caCert}`,
      `--service-account-issuer=https://127.0.0.1:${this.apiserverPort}/`,
      `--service-account-key-file=${this.pki.saPub}`,
      `--service-account-signing-key-file=${this.pki.saKey}`,
    ];
    if (this.opts.auditLogPath) {
      const policy = join(this.dir, 'audit-policy.yaml');
      writeFileSync(policy, stringify({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'], rules: [{ level: 'Metadata' }] }));
      args.push(`--audit-policy-file=${policy}`, `--audit-log-path=${this.opts.auditLogPath}`, '--audit-log-format=json');
    }
    this.apiserver = startManaged('kube-apiserver', this.assets.kubeApiserver, args, join(this.dir, 'kube-apiserver.log'));
    await waitFor('kube-apiserver /readyz', () => this.readyz(), this.opts.readyTimeoutMs ?? 60_000, 250, this.apiserver);
  }

  /** Restarts kube-apiserver on the same port, keeping etcd (and so all objects). */
  async restartApiserver(): Promise<void> {
    await this.apiserver?.stop('SIGTERM', 10_000);
    await this.startApiserver();
  }

  private readyz(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.apiserverPort,
          path: '/readyz',
          ca: readFileSync(this.pki.caCert),
          cert: readFileSync(this.pki.adminCert),
          key: readFileSync(this.pki.adminKey),
          // the serving cert is self-signed by the apiserver (--cert-dir); we only probe it
          rejectUnauthorized: false,
          timeout: 2000,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }

  /** Issues kubeconfigs for other identities (client certs or tokens) on this control plane. */
  get identities(): Identities {
    return new Identities(this.dir, this.server, this.pki);
  }

  kubeconfigFor(user: string, groups: string[] = []): string {
    return this.identities.kubeconfigFor(user, groups);
  }

  /** A handle on a control plane started by another process (vitest's global setup). */
  static attach(dir: string, kubeconfigPath: string): Identities {
    const server = /server: (\S+)/.exec(readFileSync(kubeconfigPath, 'utf8'))?.[1];
    if (!server) throw new Error(`no server in ${kubeconfigPath}`);
    return new Identities(dir, server, pkiIn(dir));
  }

  async stop(): Promise<void> {
    await this.apiserver?.stop('SIGTERM', 5000);
    await this.etcd?.stop('SIGTERM', 5000);
    rmSync(this.dir, { recursive: true, force: true });
    this.unregister();
  }
}

function pkiIn(dir: string): TestPki {
  return { caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), adminCert: join(dir, 'admin.crt'), adminKey: join(dir, 'admin.key'), saKey: join(dir, 'sa.key'), saPub: join(dir, 'sa.pub') };
}

/** Kubeconfigs for test identities: client certificates signed by the test CA, or bearer tokens. */
export class Identities {
  private readonly dir: string;
  readonly server: string;
  private readonly pki: TestPki;

  constructor(dir: string, server: string, pki: TestPki) {
    this.dir = dir;
    this.server = server;
    this.pki = pki;
  }

  private write(path: string, user: string, credentials: Record<string, string>, namespace?: string): string {
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'pio-test', cluster: { server: this.server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: user, user: credentials }],
      contexts: [{ name: 'pio-test', context: { cluster: 'pio-test', user, ...(namespace ? { namespace } : {}) } }],
      'current-context': 'pio-test',
    };
    writeFileSync(path, stringify(kubeconfig), { mode: 0o600 });
    return path;
  }

  /** Client certificate identity: user name plus groups (O=). */
  kubeconfigFor(user: string, groups: string[] = []): string {
    const name = user.replace(/[^a-zA-Z0-9-]/g, '_');
    const { cert, key } = issueClientCert(this.pki, this.dir, name, user, groups);
    return this.write(join(this.dir, `kubeconfig-${name}`), user, { 'client-certificate': cert, 'client-key': key });
  }

  /** Bearer-token identity (e.g. a TokenRequest token of a ServiceAccount). */
  kubeconfigForToken(name: string, token: string): string {
    return this.write(join(this.dir, `kubeconfig-token-${name}`), name, { token });
  }

  /** The admin kubeconfig's credentials. */
  adminKubeconfig(path: string): string {
    return this.write(path, 'admin', { 'client-certificate': this.pki.adminCert, 'client-key': this.pki.adminKey });
  }
}
