// Package kubereg keeps the cluster's disk prefix claims as Kubernetes
// Leases: the cluster registry that diskid.Manager uses when the agent runs
// in a cluster (diskid.Config.Claims).
//
// Each claimed prefix is one coordination.k8s.io/v1 Lease named
// "spdk-disk-<prefix>" in the agent's namespace. Its holderIdentity is the
// full disk UUID; labels name the node, the kind of disk (filesystem or
// lvstore) and a label-safe form of the disk; an annotation holds the exact
// disk path or lvstore name; an owner reference to the Node lets the
// garbage collector free a deleted node's prefixes. Creating a Lease is the
// API server's atomic test-and-set: AlreadyExists with another holder means
// another disk has the prefix.
//
// A [Store] follows the Leases with an informer (list, then watch). Its
// [Store.View] is marked not synced until the first list completes and
// whenever a list or watch fails or a watch ends, until the next one
// succeeds; the last listed claims are kept meanwhile, so an unreachable API
// server never looks like a cluster without disks.
//
// # Example
//
//	client, ns, err := kubereg.Connect(kubeconfig, namespace)
//	if err != nil {
//		return err
//	}
//	store, err := kubereg.New(kubereg.Config{Client: client, Namespace: ns, Node: node})
//	if err != nil {
//		return err
//	}
//	go store.Run(ctx)
//	if err := store.WaitForSync(ctx); err != nil {
//		return err
//	}
//	cfg := diskid.DefaultConfig()
//	cfg.Node, cfg.Claims = node, store
package kubereg
