#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a versioned cache folder.
# Why a wrapper module: k8s.io/kubernetes requires its staging modules at v0.0.0 with replace
# directives, which `go install pkg@version` refuses; we replace each with its published v0.Y.Z.
# Usage: build-control-plane.sh <k8s-version e.g. v1.37.2> <etcd-version e.g. v3.6.17> <dest-dir>
set -euo pipefail
k8s="$1"; etcd="$2"; dest="$3"
command -v go >/dev/null || { echo "build-control-plane: Go is required to build kube-apiserver/etcd (or set KUBEBUILDER_ASSETS to a folder with prebuilt binaries)" >&2; exit 127; }
minor=$(echo "$k8s" | cut -d. -f2); patch=$(echo "$k8s" | cut -d. -f3)
staging="v0.${minor}.${patch}"
mkdir -p "$dest"
work=$(mktemp -d "${TMPDIR:-/tmp}/pio-cp-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { echo "[control-plane build $(date +%H:%M:%S)] $*" >&2; }

if [ ! -x "$dest/etcd" ]; then
  log "building etcd $etcd (first run only)"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init pio-etcd-build >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$etcd" >&2
  CGO_ENABLED=0 go build -trimpath -o "$dest/etcd.tmp" go.etcd.io/etcd/server/v3 >&2
  mv "$dest/etcd.tmp" "$dest/etcd"
  log "etcd built"
fi

if [ ! -x "$dest/kube-apiserver" ]; then
  log "building kube-apiserver $k8s (first run only; several minutes on 2 cores)"
  mkdir -p "$work/k8s" && cd "$work/k8s"
  go mod init pio-k8s-build >/dev/null 2>&1
  modjson=$(go mod download -json "k8s.io/kubernetes@$k8s")
  gomod=$(echo "$modjson" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # every module that upstream replaces with ./staging/... gets its published release instead
  mods=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
  {
    echo "require k8s.io/kubernetes $k8s"
    echo "replace ("
    for m in $mods; do echo "  $m => $m $staging"; done
    echo ")"
  } >> go.mod
  cat > main.go <<'GO'
package main

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"

func main() {}
GO
  log "resolving $(echo "$mods" | wc -w) staging modules at $staging"
  GOFLAGS=-mod=mod go mod tidy >&2
  rm main.go
  ver="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ver="$ver -X k8s.io/client-go/pkg/version.gitVersion=$k8s -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  # progress: go build -v prints each package path as it compiles; we print a count every 100.
  # Lines with spaces are compiler messages, not package paths: pass them through.
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -v -trimpath -ldflags "$ver" -o "$dest/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver 2>&1 \
    | awk '{ n++; if (n % 100 == 0) { printf("[control-plane build] compiled %d packages (last: %s)\n", n, $0) > "/dev/stderr"; fflush("/dev/stderr") } if ($0 ~ / /) print > "/dev/stderr" }'
  [ -f "$dest/kube-apiserver.tmp" ] || { log "kube-apiserver build failed"; exit 1; }
  mv "$dest/kube-apiserver.tmp" "$dest/kube-apiserver"
  log "kube-apiserver built"
fi
echo "$dest"
