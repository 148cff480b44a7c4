package agent

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestDirectReach(t *testing.T) {
	if directReach("/var/tmp/spdk.sock") == "" {
		t.Error("spdk_tgt on the well-known path is reachable by every client")
	}
	dir := t.TempDir()
	priv := filepath.Join(dir, "priv")
	if err := os.Mkdir(priv, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(priv, "spdk.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Chmod(sock, 0o777); err != nil {
		t.Fatal(err)
	}
	if why := directReach(sock); why != "" {
		t.Errorf("a socket in a 0700 directory: %s", why)
	}
	if err := os.Chmod(priv, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if directReach(sock) == "" {
		t.Error("a 0777 socket in searchable directories is reachable")
	}
}
