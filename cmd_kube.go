package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/diskid/kubereg"
)

// registryKube is the --registry value that selects the cluster's prefix
// claims (Kubernetes Leases) instead of a registry file.
const registryKube = "kube"

// kubeFlags say how to reach the Kubernetes API for --registry kube.
type kubeFlags struct {
	kubeconfig string
	namespace  string
}

func (k *kubeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", envDefault("SPDK_AGENT_KUBECONFIG", envDefault("KUBECONFIG", "")),
		"with --registry kube: kubeconfig file; empty: the pod's in-cluster config (SPDK_AGENT_KUBECONFIG, then KUBECONFIG)")
	fs.StringVar(&k.namespace, "namespace", envDefault("SPDK_AGENT_NAMESPACE", ""),
		"with --registry kube: namespace of the claims (default: the pod's namespace; SPDK_AGENT_NAMESPACE)")
}

// startClaims connects to the API server and follows the claims until
// the returned stop is called. It waits up to syncTimeout for the first
// list; a store that has not synced is still returned, with the error:
// it generates nothing until it syncs, and listings show why.
func startClaims(ctx context.Context, k kubeFlags, node string, syncTimeout time.Duration, log *slog.Logger) (*kubereg.Store, func(), error) {
	if node == "" {
		return nil, nil, fmt.Errorf("%w: --registry kube needs --node (the node's name in the cluster)", errUsage)
	}
	client, ns, err := kubereg.Connect(k.kubeconfig, k.namespace)
	if err != nil {
		return nil, nil, err
	}
	store, err := kubereg.New(kubereg.Config{Client: client, Namespace: ns, Node: node, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { store.Run(ctx) })
	stop := func() { cancel(); wg.Wait() }
	wctx, wcancel := context.WithTimeout(ctx, syncTimeout)
	defer wcancel()
	return store, stop, store.WaitForSync(wctx)
}
