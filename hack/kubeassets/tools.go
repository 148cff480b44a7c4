//go:build tools

// Package kubeassets pins k8s.io/kubernetes so that its kube-apiserver and
// kube-controller-manager commands can be built from this module.
package kubeassets

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
