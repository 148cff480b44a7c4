package agent

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// socketWatcher watches the directory of SPDK's socket: a socket created
// there means a new spdk_tgt is listening (reconnect now rather than at the
// next backoff step); a removed one means SPDK is gone. A crashed spdk_tgt
// leaves its socket behind and sends no event: the client's own failure
// detection covers that case.
type socketWatcher struct {
	path     string
	log      *slog.Logger
	onCreate func()
	onRemove func()
}

// run watches until ctx is done. It fails only when the directory cannot
// be watched at all.
func (w *socketWatcher) run(ctx context.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("agent: watch SPDK socket: %w", err)
	}
	defer fw.Close()
	dir := filepath.Dir(w.path)
	if err := fw.Add(dir); err != nil {
		return fmt.Errorf("agent: watch SPDK socket directory %s: %w", dir, err)
	}
	want := filepath.Clean(w.path)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			if filepath.Clean(ev.Name) != want {
				continue
			}
			switch {
			// At debug level: the SPDK connection's own lines tell
			// the operator what happened.
			case ev.Has(fsnotify.Create):
				w.log.Debug("SPDK socket created: reconnecting now", "path", w.path)
				w.onCreate()
			case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
				w.log.Debug("SPDK socket removed", "path", w.path)
				w.onRemove()
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			w.log.Warn("watching the SPDK socket directory", "dir", dir, "err", err)
		}
	}
}
