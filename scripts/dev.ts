// The playground: a real control plane, moto behind the fault layer, sample ParallelCluster images
// with CustomImages for them, and the operator running against it all. Ctrl-C tears it down.
//   npm run dev              keep running; try the printed kubectl commands
//   npm run dev -- --smoke   delete one sample, check AWS is clean, exit (used by the tests)
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { ControlPlane } from '../test/env/control-plane.ts';
import { FaultProxy } from '../test/env/fault-proxy.ts';
import { FixtureBuilder } from '../test/env/fixtures.ts';
import { kubectlOk } from '../test/env/kubectl.ts';
import { Moto } from '../test/env/moto.ts';
import { OperatorProcess } from '../test/env/operator-process.ts';

const { values } = parseArgs({ options: { smoke: { type: 'boolean' } } });
const repo = join(import.meta.dirname, '..');
const say = (s: string): void => void process.stdout.write(`${s}\n`);

const t0 = Date.now();
say('playground: starting etcd + kube-apiserver (the first run on a machine builds them: several minutes)…');
const cp = await ControlPlane.start();
say(`playground: control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${cp.assets.source})`);
const moto = await Moto.start();
const faults = await new FaultProxy(moto.endpoint).start();
const kubeconfig = cp.kubeconfigPath;
await kubectlOk(kubeconfig, ['apply', '-k', join(repo, 'crds')]);
await kubectlOk(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/customimages.pcluster.imageops.dev']);

const fixtures = new FixtureBuilder(moto.endpoint);
const samples = [
  { name: 'alinux-base', fx: await fixtures.image({ imageId: 'alinux-base' }) },
  { name: 'ubuntu-gpu', fx: await fixtures.image({ imageId: 'ubuntu-gpu', runningInstance: true }) },
  { name: 'rocky-shared', fx: await fixtures.image({ imageId: 'rocky-shared', sharedWith: ['111122223333'] }) },
  { name: 'failed-build', fx: await fixtures.image({ imageId: 'failed-build', ami: 'failed' }) },
  { name: 'kept-image', fx: await fixtures.image({ imageId: 'kept-image' }) },
];
await fixtures.decoysFor('alinux-base');
// real stacks take minutes to delete; let the samples' stacks show DELETE_IN_PROGRESS for a while
for (const s of samples) faults.scriptStackDeletion(s.name, [{ inProgressPolls: 5, outcome: 'DELETE_COMPLETE' }]);

const manifests = samples.map((s) =>
  stringify({ apiVersion: 'pcluster.imageops.dev/v1alpha1', kind: 'CustomImage', metadata: { name: s.name, namespace: 'default' }, spec: { imageId: s.name, region: 'us-east-1', ...(s.name === 'kept-image' ? { deletionPolicy: 'Retain' } : {}) } }),
);
await kubectlOk(kubeconfig, ['apply', '-f', '-'], manifests.join('---\n'));

const operator = new OperatorProcess({ kubeconfig, awsEndpoint: faults.endpoint, logFile: join(cp.dir, 'operator.log'), extraArgs: ['--log-level', 'info', '--api-bind-address', '127.0.0.1:0'] }).start();
const ports = (await operator.started()) as { metrics: number; api?: number };
await kubectlOk(kubeconfig, ['create', 'serviceaccount', 'playground-user']);
await kubectlOk(kubeconfig, ['create', 'clusterrolebinding', 'playground-user', '--clusterrole=cluster-admin', '--serviceaccount=default:playground-user']);
await kubectlOk(kubeconfig, ['wait', '--for=jsonpath={.status.imageBuildStatus}=BUILD_COMPLETE', '--timeout=60s', 'cimg/alinux-base']);

async function shutdown(code: number): Promise<never> {
  await operator.stop();
  await faults.stop();
  await moto.stop();
  await cp.stop();
  process.exit(code);
}

if (values.smoke) {
  await kubectlOk(kubeconfig, ['delete', 'cimg', 'alinux-base', '--timeout=60s']);
  const gone = await fixtures.gone(samples[0]!.fx);
  say(gone ? 'playground smoke: alinux-base deleted in AWS' : 'playground smoke: FAILED, AWS still has parts of alinux-base');
  await shutdown(gone ? 0 : 1);
}

say(`
The playground is up. In another terminal:

  export KUBECONFIG=${kubeconfig}
  kubectl get cimg                                   # images, AMIs, build and stack status
  kubectl get cimg -w &                              # watch status move
  kubectl delete cimg alinux-base                    # deletes stack, AMI, snapshot, S3 artifacts, log group
  kubectl delete cimg ubuntu-gpu --wait=false        # blocked: an instance uses the AMI
  kubectl describe cimg ubuntu-gpu                   # Deleting=False ImageInUse, and a Warning event
  kubectl annotate cimg ubuntu-gpu pcluster.imageops.dev/force=true   # force it
  kubectl delete cimg kept-image                     # deletionPolicy Retain: AWS untouched
  kubectl explain customimage.spec

The ParallelCluster image API (and the CLI, which uses the kubeconfig):
  TOKEN=$(kubectl create token playground-user)
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${ports.api}/v3/images/custom/rocky-shared
  curl -s -X DELETE -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${ports.api}/v3/images/custom/rocky-shared?force=true"
  npm start -- list-images --image-status AVAILABLE --kubeconfig $KUBECONFIG

AWS (moto, behind the fault layer): ${faults.endpoint}    metrics: http://127.0.0.1:${ports.metrics}/metrics
operator log: ${join(cp.dir, 'operator.log')}
Ctrl-C stops everything and removes the temporary files.`);
// Ctrl-C and SIGTERM: the process helpers kill every child and remove the temp dirs on exit
setInterval(() => {}, 1 << 30);
