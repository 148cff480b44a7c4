package diskid

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test re-executes the test binary as a writer that creates an
// identity and then regenerates it in a loop, and SIGKILLs it at random
// moments. After every kill the identity must be one the writer had
// written completely: never empty, never corrupt, never a mix.
const (
	crashEnvDir   = "DISKID_CRASH_DIR"
	crashEnvFresh = "DISKID_CRASH_FRESH"
	crashLog      = "written.log"
)

func TestCrashConsistency(t *testing.T) {
	if dir := os.Getenv(crashEnvDir); dir != "" {
		crashWriter(dir, os.Getenv(crashEnvFresh))
		return
	}
	kills := 300
	if testing.Short() {
		kills = 60
	}
	budget := 12 * time.Second // fewer kills on a slow machine, never a failure
	root := t.TempDir()
	disk := newDisk(t, root, "disk", uA)
	logPath := filepath.Join(root, crashLog)
	writeFile(t, logPath, uA+"\n")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	start := time.Now()
	done, midWrite := 0, 0
	for ; done < kills && (done < 30 || time.Since(start) < budget); done++ {
		fresh := filepath.Join(root, fmt.Sprintf("fresh-%d", done))
		if err := os.Mkdir(fresh, 0o755); err != nil {
			t.Fatal(err)
		}
		runAndKill(t, disk, fresh, time.Duration(rng.IntN(4000))*time.Microsecond)

		if temps, _ := filepath.Glob(filepath.Join(disk, IdentityFile+tempSuffix+"*")); len(temps) > 0 {
			midWrite++ // killed between creating the temporary file and the rename
		}
		written := readLog(t, logPath)
		id, err := ReadIdentity(disk)
		if err != nil {
			t.Fatalf("kill %d: identity damaged: %v", done, err)
		}
		if !written[id.UUID] {
			t.Fatalf("kill %d: identity holds %s, which no writer wrote", done, id.UUID)
		}
		// A create killed midway leaves no identity or a complete one.
		if _, err := ReadIdentity(fresh); err != nil && !errors.Is(err, ErrIdentityMissing) {
			t.Fatalf("kill %d: created identity damaged: %v", done, err)
		}
	}
	written := readLog(t, logPath)
	if len(written) < 2 {
		t.Fatalf("the writer never regenerated in %d runs: the test exercised nothing", done)
	}
	t.Logf("%d kills (%d while a temporary file existed) in %v; %d identities written",
		done, midWrite, time.Since(start).Round(time.Millisecond), len(written))
}

// runAndKill starts a writer, waits until it is writing, lets it run for
// after and kills it.
func runAndKill(t *testing.T, disk, fresh string, after time.Duration) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashConsistency$")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+disk, crashEnvFresh+"="+fresh)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "writing\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("writer did not start: %q, %v", line, err)
	}
	time.Sleep(after)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("writer ended on its own: %v", err)
	}
}

func readLog(t *testing.T, path string) map[DiskUUID]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[DiskUUID]bool{}
	for l := range strings.Lines(string(data)) {
		m[DiskUUID(strings.TrimSpace(l))] = true
	}
	return m
}

// crashWriter is the child: it creates fresh's identity, then regenerates
// dir's identity until it is killed. Each new UUID is logged before it is
// written, so the parent knows every UUID that may legitimately be there.
func crashWriter(dir, fresh string) {
	ctx := context.Background()
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(dir), crashLog), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		fail(err)
	}
	fmt.Println("writing")
	newID := func() Identity {
		u, err := newRandomUUID(nil)
		if err != nil {
			fail(err)
		}
		return Identity{Version: FormatVersion, UUID: u, Name: "disk", Created: time.Now().UTC()}
	}
	if err := CreateIdentity(ctx, fresh, newID()); err != nil {
		fail(err)
	}
	for {
		cur, err := ReadIdentity(dir)
		if err != nil {
			fail(err)
		}
		next := newID()
		if _, err := logf.WriteString(string(next.UUID) + "\n"); err != nil {
			fail(err)
		}
		if err := ReplaceIdentity(ctx, dir, cur.UUID, next); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "crash writer:", err)
	os.Exit(3)
}
