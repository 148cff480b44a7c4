// Package kubetest starts a real etcd and kube-apiserver on loopback for
// tests, from binaries built by hack/kubeassets (found through
// $KUBEBUILDER_ASSETS, the variable controller-runtime's envtest uses).
// It is a few dozen lines of what envtest does, without its dependencies.
//
//	api := kubetest.Start(t) // skips the test when the binaries are absent
//	client := api.Client(t)
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// EnvAssets names the directory holding etcd, kube-apiserver and (for the
// garbage collector's tests) kube-controller-manager.
const EnvAssets = "KUBEBUILDER_ASSETS"

// adminToken is the static bearer token of the test's cluster admin.
const adminToken = "spdk-agent-test-admin"

// APIServer is a running etcd and kube-apiserver.
type APIServer struct {
	t      testing.TB
	dir    string
	assets string
	port   int
	etcd   string // client URL

	mu  sync.Mutex // protects api
	api *exec.Cmd
}

// Start starts etcd and kube-apiserver, stopped at the end of the test. It
// skips the test with one line when the binaries are not there.
func Start(t testing.TB) *APIServer {
	t.Helper()
	assets := os.Getenv(EnvAssets)
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, b)); assets == "" || err != nil {
			t.Skipf("no Kubernetes API server: set %s to a directory with etcd and kube-apiserver (hack/kubeassets/build.sh prints one)", EnvAssets)
		}
	}
	s := &APIServer{t: t, dir: t.TempDir(), assets: assets}
	etcdPort, peerPort := freePort(t), freePort(t)
	s.etcd = "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	etcd := exec.Command(filepath.Join(assets, "etcd"),
		"--data-dir", filepath.Join(s.dir, "etcd"),
		"--listen-client-urls", s.etcd, "--advertise-client-urls", s.etcd,
		"--listen-peer-urls", "http://127.0.0.1:"+strconv.Itoa(peerPort),
		"--unsafe-no-fsync", "--log-level", "error")
	etcd.Stderr = logFile(t, s.dir, "etcd.log")
	if err := etcd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(func() { stop(etcd) })
	writeKeys(t, s.dir)
	s.port = freePort(t)
	s.StartAPIServer()
	t.Cleanup(s.StopAPIServer)
	return s
}

// StartAPIServer starts kube-apiserver (again, on the same port and etcd)
// and waits until it answers.
func (s *APIServer) StartAPIServer() {
	s.t.Helper()
	key := filepath.Join(s.dir, "sa.key")
	cmd := exec.Command(filepath.Join(s.assets, "kube-apiserver"),
		"--etcd-servers", s.etcd,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(s.port),
		"--cert-dir", filepath.Join(s.dir, "certs"),
		"--token-auth-file", filepath.Join(s.dir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", key, "--service-account-signing-key-file", key,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--disable-admission-plugins", "ServiceAccount",
		"--v", "0")
	cmd.Stderr = logFile(s.t, s.dir, "kube-apiserver.log")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start kube-apiserver: %v", err)
	}
	s.mu.Lock()
	s.api = cmd
	s.mu.Unlock()
	s.waitReady()
}

// StopAPIServer stops kube-apiserver; etcd keeps the data.
func (s *APIServer) StopAPIServer() {
	s.mu.Lock()
	cmd := s.api
	s.api = nil
	s.mu.Unlock()
	if cmd != nil {
		stop(cmd)
	}
}

// waitReady polls /readyz: the API server gives no other signal.
func (s *APIServer) waitReady() {
	s.t.Helper()
	c := s.Client(s.t)
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		body, err := c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		cancel()
		if err == nil && string(body) == "ok" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("kube-apiserver not ready after 90s (log in %s): %v %s", s.dir, err, body)
		}
		time.Sleep(200 * time.Millisecond) // polling an external process, not ordering
	}
}

// StartGarbageCollector runs kube-controller-manager with only its garbage
// collector, stopped at the end of the test. It skips the test with one line
// when the binary is not there.
func (s *APIServer) StartGarbageCollector(t testing.TB) {
	t.Helper()
	bin := filepath.Join(s.assets, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no kube-controller-manager in %s=%s (hack/kubeassets/build.sh builds it)", EnvAssets, s.assets)
	}
	cmd := exec.Command(bin,
		"--kubeconfig", s.Kubeconfig(t, "default"),
		"--controllers", "garbagecollector",
		"--leader-elect=false", "--secure-port", "0", "--v", "0")
	cmd.Stderr = logFile(t, s.dir, "kube-controller-manager.log")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start kube-controller-manager: %v", err)
	}
	t.Cleanup(func() { stop(cmd) })
}

// Config is the admin's client configuration.
func (s *APIServer) Config() *rest.Config {
	return &rest.Config{Host: "https://127.0.0.1:" + strconv.Itoa(s.port), BearerToken: adminToken,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

// Client is an admin client.
func (s *APIServer) Client(t testing.TB) kubernetes.Interface {
	c, err := kubernetes.NewForConfig(s.Config())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Kubeconfig writes a kubeconfig for the admin with namespace as its
// context's namespace, and returns its path.
func (s *APIServer) Kubeconfig(t testing.TB, namespace string) string {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: s.Config().Host, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: adminToken}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin", Namespace: namespace}
	cfg.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// CreateNodes creates Node objects, the owners of disk claims.
func (s *APIServer) CreateNodes(t testing.TB, names ...string) {
	c := s.Client(t)
	for _, n := range names {
		if _, err := c.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create node %s: %v", n, err)
		}
	}
}

// CreateNamespace creates a namespace.
func (s *APIServer) CreateNamespace(t testing.TB, name string) {
	_, err := s.Client(t).CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

func writeKeys(t testing.TB, dir string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	tokens := fmt.Sprintf("%s,admin,admin-uid,system:masters\n", adminToken)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func logFile(t testing.TB, dir, name string) *os.File {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
