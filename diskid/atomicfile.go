package diskid

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSmallFile bounds what readFile accepts: identity files are a few
// hundred bytes and a registry of thousands of disks well under this.
const maxSmallFile = 16 << 20

// tempSuffix marks files being written; a name with it is never read as
// data and is removed by the next writer that takes the lock.
const tempSuffix = ".tmp-"

// writeAtomic makes name in d hold exactly data, or leaves it as it was:
// data goes to a temporary file that is fsynced, renamed over name, and then
// the directory is fsynced so that the rename itself survives a crash. With
// noReplace the rename fails with fs.ErrExist instead of replacing an
// existing file, which is how an identity is created exactly once even by a
// writer that ignores the lock.
func (d *dirHandle) writeAtomic(name string, data []byte, noReplace bool) (err error) {
	tmp := name + tempSuffix + randomHex(6)
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", filepath.Join(d.path, tmp), err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, tmp))
	defer func() {
		if err != nil {
			_ = unix.Unlinkat(d.fd, tmp, 0)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	target := filepath.Join(d.path, name)
	if noReplace {
		err = d.renameNoReplace(tmp, name)
	} else {
		err = unix.Renameat(d.fd, tmp, d.fd, name)
	}
	if err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("rename into %s: %w", target, os.ErrExist)
		}
		return fmt.Errorf("rename into %s: %w", target, err)
	}
	if err := unix.Fsync(d.fd); err != nil {
		return fmt.Errorf("fsync directory %s: %w", d.path, err)
	}
	return nil
}

// renameNoReplace renames without ever replacing an existing target. Some
// filesystems lack RENAME_NOREPLACE; link(2) gives the same guarantee there.
func (d *dirHandle) renameNoReplace(from, to string) error {
	err := unix.Renameat2(d.fd, from, d.fd, to, unix.RENAME_NOREPLACE)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	if err := unix.Linkat(d.fd, from, d.fd, to, 0); err != nil {
		return err
	}
	return unix.Unlinkat(d.fd, from, 0)
}

// readFile reads name in d without following a symlink: an identity file
// that is a link could make two disks share one identity, or make the agent
// write through it. fs.ErrNotExist is returned (wrapped) for a missing file.
func (d *dirHandle) readFile(name string) ([]byte, error) {
	full := filepath.Join(d.path, name)
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT):
			return nil, fmt.Errorf("%s: %w", full, os.ErrNotExist)
		case errors.Is(err, unix.ELOOP):
			return nil, fmt.Errorf("%s: %w: it is a symlink", full, ErrNotRegular)
		}
		return nil, fmt.Errorf("open %s: %w", full, err)
	}
	f := os.NewFile(uintptr(fd), full)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", full, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: mode %v", full, ErrNotRegular, st.Mode())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", full, err)
	}
	if len(data) > maxSmallFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", full, maxSmallFile)
	}
	return data, nil
}

// names lists the entries of d.
func (d *dirHandle) names() ([]string, error) {
	// A duplicate descriptor, because reading a directory moves its offset
	// and the handle's descriptor stays in use for *at calls and the lock.
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.path, err)
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.path, err)
	}
	return names, nil
}

// removeTemps deletes temporary files of name left by a writer that died
// before its rename. The caller must hold the directory's lock, or it could
// delete the file another writer is about to rename.
func (d *dirHandle) removeTemps(name string) error {
	names, err := d.names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, name+tempSuffix) {
			if err := unix.Unlinkat(d.fd, n, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("remove stale %s: %w", filepath.Join(d.path, n), err)
			}
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

// remove deletes name and fsyncs the directory, so that a removal reported
// done survives a crash. A missing file is success.
func (d *dirHandle) remove(name string) error {
	if err := unix.Unlinkat(d.fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", filepath.Join(d.path, name), err)
	}
	if err := unix.Fsync(d.fd); err != nil {
		return fmt.Errorf("fsync directory %s: %w", d.path, err)
	}
	return nil
}
