package diskid

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// dirHandle is an open directory. Every file operation on a disk goes
// through it with the *at system calls, so that a directory renamed or
// replaced while an operation runs cannot redirect the operation elsewhere.
type dirHandle struct {
	path string
	fd   int
}

// openDir opens the directory at path. A missing directory is ErrDiskMissing.
func openDir(path string) (*dirHandle, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%w: %s", ErrDiskMissing, path)
		}
		return nil, fmt.Errorf("open disk directory %s: %w", path, err)
	}
	return &dirHandle{path: path, fd: fd}, nil
}

// close closes the directory, which also drops a lock taken on it.
func (d *dirHandle) close() {
	_ = unix.Close(d.fd)
}

// lockPoll is how often lock retries a contended lock.
const lockPoll = 5 * time.Millisecond

// lock takes an exclusive flock on the directory itself, waiting until ctx
// is done. Locking the directory rather than a lock file inside it keeps the
// disk holding nothing but its identity file, which is what "unused" means.
// The kernel drops the lock when the process dies, so a killed writer never
// leaves a disk locked.
func (d *dirHandle) lock(ctx context.Context) error {
	for {
		err := unix.Flock(d.fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("lock disk directory %s: %w", d.path, err)
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %s: %w", ErrLocked, d.path, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// withLockedDir opens path, locks it, removes temporary files of name left
// by a writer that died mid-write, and runs fn. The lock is held for all of fn.
func withLockedDir(ctx context.Context, path, name string, fn func(d *dirHandle) error) error {
	d, err := openDir(path)
	if err != nil {
		return err
	}
	defer d.close()
	if err := d.lock(ctx); err != nil {
		return err
	}
	if err := d.removeTemps(name); err != nil {
		return err
	}
	return fn(d)
}
