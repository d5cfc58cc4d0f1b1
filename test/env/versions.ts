// Pinned versions of the control-plane binaries built from the Go module proxy.
// Bump together with the CRD's tested Kubernetes version in the README.
export const KUBERNETES_VERSION = 'v1.37.2';
export const ETCD_VERSION = 'v3.6.17';
