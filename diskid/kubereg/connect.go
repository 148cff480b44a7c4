package kubereg

import (
	"fmt"
	"os"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// serviceAccountNamespace is where a pod finds its own namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Connect returns a client of the API server: the one in kubeconfig, or
// the pod's own (in-cluster config) when kubeconfig is empty. The namespace
// is namespace when set, else $POD_NAMESPACE, else the pod's namespace,
// else the kubeconfig context's.
func Connect(kubeconfig, namespace string) (kubernetes.Interface, string, error) {
	var (
		cfg *rest.Config
		err error
	)
	ctxNS := ""
	if kubeconfig != "" {
		loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, &clientcmd.ConfigOverrides{})
		if cfg, err = loader.ClientConfig(); err != nil {
			return nil, "", fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
		if ns, _, err := loader.Namespace(); err == nil {
			ctxNS = ns
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return nil, "", fmt.Errorf("in-cluster Kubernetes config (outside a pod, pass --kubeconfig): %w", err)
	}
	cfg.UserAgent = "spdk-agent"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	return client, pickNamespace(namespace, ctxNS), nil
}

func pickNamespace(flag, fromKubeconfig string) string {
	if flag != "" {
		return flag
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespace); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	if fromKubeconfig != "" {
		return fromKubeconfig
	}
	return "default"
}
