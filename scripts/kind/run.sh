#!/usr/bin/env bash
# End to end in kind, for machines with Docker: build the image, load it, install the manifests
# against an in-cluster moto, make a ParallelCluster-shaped image, delete its CustomImage, check AWS.
# Needs: docker, kind, kubectl, node (npm ci done). Not runnable where no Docker engine runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "kind run: a Docker engine is required" >&2; exit 1; }
command -v kind >/dev/null || { echo "kind run: kind is required (go install sigs.k8s.io/kind@latest)" >&2; exit 1; }

docker build -t pcluster-image-operator:kind .
kind get clusters | grep -qx pcluster-image-operator || kind create cluster --config scripts/kind/kind-config.yaml
kind load docker-image pcluster-image-operator:kind --name pcluster-image-operator
kubectl apply -f manifests/base/namespace.yaml
# the API certificate: self-signed for the run
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; kill ${pf:-0} 2>/dev/null || true' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pcluster-image-operator -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null
kubectl -n pcluster-image-operator create secret tls pcluster-image-operator-api-tls --cert="$tmp/tls.crt" --key="$tmp/tls.key" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -k scripts/kind
kubectl -n pcluster-image-operator rollout status deploy/moto --timeout=180s
kubectl -n pcluster-image-operator rollout status deploy/pcluster-image-operator --timeout=180s

kubectl -n pcluster-image-operator port-forward svc/moto 15000:5000 >/dev/null & pf=$!
sleep 3
node --input-type=module -e "
import { FixtureBuilder } from './test/env/fixtures.ts';
const fx = await new FixtureBuilder('http://127.0.0.1:15000').image({ imageId: 'kind-sample' });
console.log(JSON.stringify(fx));" > "$tmp/fixture.json"
cat <<YAML | kubectl apply -f -
apiVersion: pcluster.imageops.dev/v1alpha1
kind: CustomImage
metadata: { name: kind-sample, namespace: default }
spec: { imageId: kind-sample, region: us-east-1 }
YAML
kubectl wait --for=jsonpath='{.status.imageBuildStatus}'=BUILD_COMPLETE cimg/kind-sample --timeout=120s
kubectl delete cimg kind-sample --timeout=180s
node --input-type=module -e "
import { readFileSync } from 'node:fs';
import { FixtureBuilder } from './test/env/fixtures.ts';
const fx = JSON.parse(readFileSync('$tmp/fixture.json', 'utf8'));
const gone = await new FixtureBuilder('http://127.0.0.1:15000').gone(fx);
console.log(gone ? 'kind run: kind-sample deleted in AWS' : 'kind run: FAILED, AWS still has parts of kind-sample');
process.exit(gone ? 0 : 1);"
