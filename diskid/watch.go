package diskid

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchRetry is how long watchDir waits before retrying a directory it
// could not watch (not mounted yet, or briefly gone).
const watchRetry = 2 * time.Second

// watchDir calls changed after events in the directory holding path have
// settled for debounce, until ctx is done.
//
// It watches the DIRECTORY, not the file: a kubelet updates a mounted
// ConfigMap by writing a new timestamped directory, pointing a temporary
// "..data_tmp" symlink at it and renaming that over "..data". The file the
// agent opens is a symlink through "..data", so a watch on the file itself
// sees the old inode go away and then nothing ever again. The burst of events
// one update makes is debounced into one call; changed compares content, so
// events that change nothing cost one read.
func watchDir(ctx context.Context, path string, debounce time.Duration, log *slog.Logger, changed func()) {
	dir := filepath.Dir(path)
	for ctx.Err() == nil {
		watchOnce(ctx, dir, debounce, log, changed)
		// The watch ended on an error (the directory went away, say):
		// re-read in case something changed while unwatched, then retry.
		t := time.NewTimer(watchRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			changed()
		}
	}
}

// watchOnce runs one fsnotify watcher until ctx is done or the watch fails.
func watchOnce(ctx context.Context, dir string, debounce time.Duration, log *slog.Logger, changed func()) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Error("disk registry: cannot create watcher", "dir", dir, "err", err)
		return
	}
	// Close stops fsnotify's own goroutine and waits for it.
	defer w.Close()
	if err := w.Add(dir); err != nil {
		log.Warn("disk registry: cannot watch directory, will retry", "dir", dir, "err", err)
		return
	}
	// A change made before the watch was in place raised no event: re-read
	// once now that every later change will.
	changed()
	timer := time.NewTimer(debounce)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Remove) && filepath.Clean(ev.Name) == filepath.Clean(dir) {
				log.Warn("disk registry: watched directory removed", "dir", dir)
				return
			}
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			// An overflow loses events, not the watch: re-read to be sure.
			log.Warn("disk registry: watch error", "dir", dir, "err", err)
			timer.Reset(debounce)
		case <-timer.C:
			changed()
		}
	}
}
