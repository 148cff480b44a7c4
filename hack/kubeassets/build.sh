#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the module proxy, or reuses the ones
# built before, and prints the directory that holds them. The binaries live
# outside the checkout, keyed by version, so a new clone reuses them and a
# version bump rebuilds. Safe to run concurrently: one build at a time holds
# the lock, the others wait for it and reuse its result.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kube=$(awk '$1 == "k8s.io/kubernetes" {print $2}' "$here/go.mod")
etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$here/go.mod")
dir=${KUBE_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spdk-agent/kube}/$kube-etcd$etcd
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ]; then
	echo "$dir"
	exit 0
fi
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "building kube-apiserver $kube and etcd $etcd into $dir (about 17 min cold on 2 cores)" >&2
(cd "$here" && go build -trimpath -ldflags '-s -w' -o "$tmp/" ./etcd k8s.io/kubernetes/cmd/kube-apiserver)
# Rename into place: a reader sees a whole binary or none.
mv "$tmp/etcd" "$dir/etcd"
mv "$tmp/kube-apiserver" "$dir/kube-apiserver"
echo "built in $((SECONDS - start)) s" >&2
echo "$dir"
