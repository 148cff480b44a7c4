package spdksim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

var (
	errNoReply = spdkserver.ErrNoReply
	errCrash   = spdkserver.ErrCrash
)

// method is one implemented RPC. mutates marks methods after which the
// aio-backed lvstores are written back to their files.
type method struct {
	fn      func(m *model, p params) (any, error)
	mutates bool
}

func constant(v any) func(*model, params) (any, error) {
	return func(*model, params) (any, error) { return v, nil }
}

type versionFields struct {
	Major  int    `json:"major"`
	Minor  int    `json:"minor"`
	Patch  int    `json:"patch"`
	Suffix string `json:"suffix"`
	Commit string `json:"commit"`
}

// version is the spdk_get_version answer of the recorded target.
var version = struct {
	Version string        `json:"version"`
	Fields  versionFields `json:"fields"`
}{"SPDK v26.05 git sha1 d519b163cb", versionFields{Major: 26, Minor: 5, Commit: "d519b163cb"}}

// methods are the implemented RPCs. Every other name in recordedMethods
// answers -32601 "Method not found", as does any unknown name.
var methods = map[string]method{
	"spdk_get_version":         {fn: constant(version)},
	"rpc_get_methods":          {fn: constant(recordedMethods)},
	"framework_wait_init":      {fn: constant(true)},
	"bdev_wait_for_examine":    {fn: constant(true)},
	"notify_get_types":         {fn: constant(notifyTypes)},
	"notify_get_notifications": {fn: (*model).getNotificationsLocked},
	"bdev_get_iostat":          {fn: (*model).getIostatLocked},
	"bdev_malloc_create":       {fn: (*model).mallocCreateLocked, mutates: true},
	"bdev_malloc_delete": {fn: func(m *model, p params) (any, error) {
		return m.deleteBaseBdevLocked(p, kindMalloc)
	}, mutates: true},
	"bdev_aio_create": {fn: (*model).aioCreateLocked, mutates: true},
	"bdev_aio_delete": {fn: func(m *model, p params) (any, error) {
		return m.deleteBaseBdevLocked(p, kindAio)
	}, mutates: true},
	"bdev_split_create":            {fn: (*model).splitCreateLocked, mutates: true},
	"bdev_split_delete":            {fn: (*model).splitDeleteLocked, mutates: true},
	"bdev_passthru_create":         {fn: (*model).passthruCreateLocked, mutates: true},
	"bdev_passthru_delete":         {fn: (*model).passthruDeleteLocked, mutates: true},
	"bdev_raid_create":             {fn: (*model).raidCreateLocked, mutates: true},
	"bdev_raid_delete":             {fn: (*model).raidDeleteLocked, mutates: true},
	"bdev_raid_remove_base_bdev":   {fn: (*model).raidRemoveBaseLocked, mutates: true},
	"bdev_lvol_create_lvstore":     {fn: (*model).createLvstoreLocked, mutates: true},
	"bdev_lvol_get_lvstores":       {fn: (*model).getLvstoresLocked},
	"bdev_lvol_rename_lvstore":     {fn: (*model).renameLvstoreLocked, mutates: true},
	"bdev_lvol_grow_lvstore":       {fn: (*model).growLvstoreLocked, mutates: true},
	"bdev_lvol_delete_lvstore":     {fn: (*model).deleteLvstoreLocked, mutates: true},
	"bdev_lvol_create":             {fn: (*model).createLvolLocked, mutates: true},
	"bdev_lvol_delete":             {fn: (*model).deleteLvolLocked, mutates: true},
	"bdev_lvol_get_lvols":          {fn: (*model).getLvolsLocked},
	"bdev_lvol_snapshot":           {fn: (*model).snapshotLocked, mutates: true},
	"bdev_lvol_clone":              {fn: (*model).cloneLocked, mutates: true},
	"bdev_lvol_clone_bdev":         {fn: (*model).cloneBdevLocked, mutates: true},
	"bdev_lvol_set_parent":         {fn: (*model).setParentLocked, mutates: true},
	"bdev_lvol_set_parent_bdev":    {fn: (*model).setParentBdevLocked, mutates: true},
	"bdev_lvol_decouple_parent":    {fn: (*model).decoupleLocked, mutates: true},
	"bdev_lvol_inflate":            {fn: (*model).inflateLocked, mutates: true},
	"bdev_lvol_rename":             {fn: (*model).renameLvolLocked, mutates: true},
	"bdev_lvol_resize":             {fn: (*model).resizeLocked, mutates: true},
	"bdev_lvol_set_read_only":      {fn: (*model).setReadOnlyLocked, mutates: true},
	"bdev_lvol_start_shallow_copy": {fn: (*model).startShallowCopyLocked},
	"bdev_lvol_check_shallow_copy": {fn: (*model).checkShallowCopyLocked},
	// bdev_get_bdevs is served apart: it may wait for a bdev to appear.
	"bdev_get_bdevs": {},
}

// Target is the simulated spdk_tgt behind a socket: an spdkserver.Handler
// that applies each request to an in-memory model, synchronously and in
// arrival order. It is safe for concurrent use.
type Target struct {
	opts     Options
	cur      atomic.Pointer[model]
	restarts atomic.Int64
	wg       sync.WaitGroup // bdev_get_bdevs calls waiting for a bdev; the metadata writer
}

// NewTarget returns a target in the state of a freshly started spdk_tgt.
func NewTarget(opts Options) *Target {
	t := &Target{opts: opts}
	t.cur.Store(newModel(opts))
	return t
}

// Restart drops all in-memory state, like a new spdk_tgt process: malloc
// bdevs and their lvstores are gone; aio files keep theirs, to be found
// again by bdev_aio_create.
func (t *Target) Restart() {
	// The old process writes nothing more: its unwritten changes are
	// lost, as a crashed spdk_tgt's are.
	old := t.cur.Load()
	old.mu.Lock()
	old.retired = true
	old.mu.Unlock()
	o := t.opts
	if o.Seed != 0 {
		o.Seed += t.restarts.Add(1) // no UUID of the last life repeats
	}
	t.cur.Store(newModel(o))
}

// Wait waits for the calls still waiting for a bdev (their contexts must
// be done or their timeouts run out) and for the metadata writer.
func (t *Target) Wait() { t.wg.Wait() }

// ServeRPC implements spdkserver.Handler.
func (t *Target) ServeRPC(ctx context.Context, req *spdkserver.Request, reply spdkserver.ReplyFunc) {
	m := t.cur.Load()
	res, wait, err := t.call(m, req.Method, req.Params, reply)
	if errors.Is(err, errQueued) {
		return // answered by the model's metadata writer, in order
	}
	if wait == nil {
		reply(res, err)
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		reply(encodeResult(wait(ctx)))
	}()
}

// call runs one request against m. It returns the encoded result, or a
// function to finish the call without the lock.
func (t *Target) call(m *model, name string, raw json.RawMessage, reply spdkserver.ReplyFunc) (json.RawMessage, func(context.Context) (any, error), error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		raw = nil
	}
	// SPDK rejects a request it cannot even decode before any blobstore
	// work is queued, so these answers are immediate even for async methods.
	if len(raw) > 0 && raw[0] != '{' && raw[0] != '[' {
		return nil, nil, spdkserver.Immediate(errInvalidReq)
	}
	meth, ok := methods[name]
	if !ok {
		return nil, nil, spdkserver.Immediate(errMethodAbsent)
	}
	specs, takes := paramSpecs[name]
	if !takes && raw != nil {
		return nil, nil, spdkserver.Immediate(msgErr(spdkrpc.CodeInvalidParams, name+" method requires no parameters"))
	}
	p, ok := decodeParams(raw, specs)
	if !ok {
		if e, own := decodeErrors[name]; own {
			return nil, nil, spdkserver.Immediate(e)
		}
		return nil, nil, spdkserver.Immediate(errDecode)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.crashed {
		return nil, nil, errCrash
	}
	var res any
	var err error
	if name == "bdev_get_bdevs" {
		var wait func(context.Context) (any, error)
		res, wait, err = m.getBdevsLocked(p)
		if wait != nil {
			return nil, wait, nil
		}
	} else {
		res, err = meth.fn(m, p)
	}
	if err == errCrash {
		m.crashed = true
	}
	if err == nil && meth.mutates {
		m.unwritten = true
		if IsAsync(name) && reply != nil {
			// An lvol method completes once its metadata is written, as
			// SPDK's blobstore syncs it; see queueLocked.
			enc, err := encodeResult(res, nil)
			if err != nil {
				return nil, nil, err
			}
			m.queueLocked(t, queuedReply{res: enc, reply: reply})
			return nil, nil, errQueued
		}
		if perr := m.persistLocked(); perr != nil {
			return nil, nil, syncErr(eio)
		}
		m.unwritten = false
	}
	enc, err := encodeResult(res, err)
	return enc, nil, err
}

// errQueued tells ServeRPC that the model's writer answers the call.
var errQueued = errors.New("spdksim: answered after the metadata write")

// queuedReply is an lvol method's answer waiting for its metadata write.
type queuedReply struct {
	res   json.RawMessage
	reply spdkserver.ReplyFunc
}

// queueLocked files an answer for the metadata writer and starts it if it
// is not running. Writing every aio-backed store costs as much as the node
// is large, so the lvol methods in flight together share one write (a
// group commit) instead of each paying for it, and filling a node no longer
// slows with its size. The writer answers in the order the changes were
// made, as SPDK completes a connection's blobstore operations.
func (m *model) queueLocked(t *Target, q queuedReply) {
	m.queued = append(m.queued, q)
	if m.writing {
		return
	}
	m.writing = true
	t.wg.Go(m.writeQueued)
}

// writeQueued writes the metadata of the queued changes, then answers them,
// until the queue is empty.
func (m *model) writeQueued() {
	for {
		m.mu.Lock()
		batch := m.queued
		m.queued = nil
		if len(batch) == 0 {
			m.writing = false
			m.mu.Unlock()
			return
		}
		var err error
		if !m.retired && m.unwritten {
			if err = m.persistLocked(); err == nil {
				m.unwritten = false
			}
		}
		m.mu.Unlock()
		for _, q := range batch {
			if err != nil {
				q.reply(nil, syncErr(eio))
			} else {
				q.reply(q.res, nil)
			}
		}
	}
}

func encodeResult(res any, err error) (json.RawMessage, error) {
	if err != nil {
		return nil, err
	}
	enc, merr := marshalSPDK(res)
	if merr != nil {
		return nil, fmt.Errorf("encode result: %w", merr)
	}
	return enc, nil
}

// marshalSPDK encodes v compactly the way SPDK's JSON writer does: no HTML
// escaping, and every non-ASCII character as \uXXXX with uppercase hex, so
// that replies are pure ASCII (sharp edge 5).
func marshalSPDK(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return json.RawMessage(b), nil
	}
	var out strings.Builder
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			out.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&out, "\\u%04X\\u%04X", 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&out, "\\u%04X", r)
		}
	}
	return json.RawMessage(out.String()), nil
}
