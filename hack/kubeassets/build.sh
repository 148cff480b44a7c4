#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from the module
# proxy, or reuses the ones built before, and prints the directory that holds
# them. The binaries live outside the checkout, keyed by version, so a new
# clone reuses them and a version bump rebuilds. Safe to run concurrently: one build at a time holds
# the lock, the others wait for it and reuse its result.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kube=$(awk '$1 == "k8s.io/kubernetes" {print $2}' "$here/go.mod")
etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$here/go.mod")
dir=${KUBE_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spdk-agent/kube}/$kube-etcd$etcd
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
# Each binary is checked on its own: a cache made before a binary joined the
# list builds only what it lacks.
need=()
[ -x "$dir/etcd" ] || need+=(./etcd)
[ -x "$dir/kube-apiserver" ] || need+=(k8s.io/kubernetes/cmd/kube-apiserver)
[ -x "$dir/kube-controller-manager" ] || need+=(k8s.io/kubernetes/cmd/kube-controller-manager)
if [ ${#need[@]} -eq 0 ]; then
	echo "$dir"
	exit 0
fi
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "building ${need[*]} (kube $kube, etcd $etcd) into $dir (about 20 min cold on 2 cores for all three)" >&2
(cd "$here" && go build -trimpath -ldflags '-s -w' -o "$tmp/" "${need[@]}")
# Rename into place: a reader sees a whole binary or none.
for b in "$tmp"/*; do
	mv "$b" "$dir/$(basename "$b")"
done
echo "built in $((SECONDS - start)) s" >&2
echo "$dir"
