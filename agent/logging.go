package agent

import (
	"context"
	"log/slog"
)

// debugOnly wraps a handler so that every record is logged at debug level.
// The pool's SPDK connections use it: they connect and disconnect together
// with the follower's, whose lines at info and warning level tell the event
// once; the pool's own copies only matter when debugging.
type debugOnly struct{ h slog.Handler }

func (d debugOnly) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d debugOnly) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return d.h.Handle(ctx, r)
}

func (d debugOnly) WithAttrs(as []slog.Attr) slog.Handler { return debugOnly{d.h.WithAttrs(as)} }

func (d debugOnly) WithGroup(name string) slog.Handler { return debugOnly{d.h.WithGroup(name)} }
