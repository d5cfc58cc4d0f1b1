// Fails loudly when the tools the tests need are missing, instead of letting tests skip.
import { spawnSync } from 'node:child_process';

const major = Number(process.versions.node.split('.')[0]);
const problems: string[] = [];
if (major < 24) problems.push(`Node.js ${process.versions.node} is running; this project needs Node.js 24 (npm ci installs it as the "node" package; run through npm scripts)`);
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (!has('kubectl') && !process.env.TEST_ASSET_KUBECTL && !process.env.KUBEBUILDER_ASSETS) problems.push('kubectl is not on PATH (or set TEST_ASSET_KUBECTL / KUBEBUILDER_ASSETS)');
if (!has('moto_server') && spawnSync('python3', ['-c', 'import moto.server, flask']).status !== 0) problems.push("moto's server is missing: pip install 'moto[server]'");
if (!has('openssl')) problems.push('openssl is not on PATH (it makes the test CA)');
if (!has('lua5.1')) problems.push('lua5.1 is not on PATH (the Argo CD health check runs in it): apt-get install lua5.1');
if (!has('schemathesis')) problems.push('schemathesis is not on PATH (the API contract test runs it): pip install schemathesis');
if (!process.env.KUBEBUILDER_ASSETS && !(process.env.TEST_ASSET_KUBE_APISERVER && process.env.TEST_ASSET_ETCD) && !has('go')) {
  problems.push('Go is needed once to build kube-apiserver and etcd (or set KUBEBUILDER_ASSETS)');
}
if (problems.length) {
  process.stderr.write(`cannot run the tests:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}
