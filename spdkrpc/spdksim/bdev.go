package spdksim

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func (m *model) mallocCreateLocked(p params) (any, error) {
	bs, n := p.uint("block_size"), p.uint("num_blocks")
	if bs < 512 || bs%512 != 0 || n == 0 {
		return nil, syncErr(einval)
	}
	name, ok := p.strOK("name")
	if !ok {
		name = fmt.Sprintf("Malloc%d", m.mallocSeq)
		m.mallocSeq++
	}
	if _, dup := m.findBdevLocked(name); dup {
		return nil, syncErr(eexist)
	}
	if n > (1<<62)/bs || (m.opts.MemoryLimit != 0 && m.mallocBytes+n*bs > m.opts.MemoryLimit) {
		return nil, syncErr(enomem)
	}
	id, ok := p.strOK("uuid")
	if !ok {
		id = m.newUUIDLocked()
	}
	if _, dup := m.findBdevByUUIDLocked(id); dup {
		return nil, syncErr(eexist)
	}
	m.mallocBytes += n * bs
	b := &bdev{kind: kindMalloc, name: name, uuid: id, blockSize: bs, numBlocks: n}
	m.registerLocked(b)
	return name, nil
}

func (m *model) aioCreateLocked(p params) (any, error) {
	name, file := p.str("name"), p.str("filename")
	st, err := os.Stat(file)
	if err != nil {
		return nil, syncErr(enoent)
	}
	// A regular file has no block size to detect: SPDK wants one given.
	bs := p.uint("block_size")
	if bs < 512 || bs&(bs-1) != 0 || !st.Mode().IsRegular() || uint64(st.Size())%bs != 0 {
		return nil, syncErr(einval)
	}
	if _, dup := m.findBdevLocked(name); dup {
		return nil, syncErr(eexist)
	}
	id, ok := p.strOK("uuid")
	switch {
	case ok:
	case m.rng != nil:
		// Seeded (golden) runs keep the other UUIDs where they were and
		// give the file a stable one.
		id = uuid.NewSHA1(uuid.NameSpaceURL, []byte("file://"+file)).String()
	default:
		id = m.newUUIDLocked() // SPDK: a new random UUID every time
	}
	if _, dup := m.findBdevByUUIDLocked(id); dup {
		return nil, syncErr(eexist)
	}
	b := &bdev{kind: kindAio, name: name, uuid: id, blockSize: bs, numBlocks: uint64(st.Size()) / bs, filename: file}
	m.registerLocked(b)
	return name, nil
}

// deleteBaseBdevLocked is bdev_malloc_delete and bdev_aio_delete. An
// lvstore on the bdev goes with it (its metadata stays in an aio file); an
// esnap clone reading from it makes SPDK hang with the bdev already gone.
func (m *model) deleteBaseBdevLocked(p params, kind bdevKind) (any, error) {
	b, ok := m.findBdevLocked(p.str("name"))
	if !ok || b.kind != kind {
		return nil, syncErr(enodev)
	}
	if !m.opts.crashes() && len(m.esnapDependentsLocked(b)) > 0 {
		return nil, syncErr(ebusy)
	}
	if !m.hotRemoveLocked(b) {
		return nil, errNoReply
	}
	return true, nil
}

// getBdevsLocked lists bdevs, or finds one by name, alias or UUID. With a
// timeout, a missing bdev is waited for; wait is then non-nil and the
// caller runs it without the lock.
func (m *model) getBdevsLocked(p params) (result any, wait func(context.Context) (any, error), err error) {
	name, ok := p.strOK("name")
	if !ok {
		out := make([]bdevJSON, 0, len(m.bdevs))
		claims := m.claimsLocked()
		for _, b := range m.bdevs {
			out = append(out, bdevJSONOf(b, claims))
		}
		return out, nil, nil
	}
	if b, ok := m.lookupBdevLocked(name); ok {
		return []bdevJSON{bdevJSONOf(b, m.claimsLocked())}, nil, nil
	}
	timeout := p.uint("timeout")
	if timeout == 0 {
		return nil, nil, syncErr(enodev)
	}
	deadline := time.Now().Add(time.Duration(min(timeout, 1<<40)) * time.Millisecond)
	wait = func(ctx context.Context) (any, error) {
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		for {
			m.mu.Lock()
			b, ok := m.lookupBdevLocked(name)
			changed := m.changed
			var res any
			if ok {
				res = []bdevJSON{bdevJSONOf(b, m.claimsLocked())}
			}
			m.mu.Unlock()
			if ok {
				return res, nil
			}
			select {
			case <-changed:
			case <-timer.C:
				return nil, syncErr(enodev)
			case <-ctx.Done():
				return nil, errNoReply
			}
		}
	}
	return nil, wait, nil
}

// lookupBdevLocked is findBdevLocked plus a match on the bdev UUID.
func (m *model) lookupBdevLocked(name string) (*bdev, bool) {
	if b, ok := m.findBdevLocked(name); ok {
		return b, true
	}
	return m.findBdevByUUIDLocked(name)
}

func (m *model) getIostatLocked(p params) (any, error) {
	// No I/O runs through the simulator: every counter is zero.
	switch p.str("reset_mode") {
	case "", "all", "maxmin", "error", "none":
	default:
		return nil, errDecode // an enum SPDK's decoder does not know
	}
	tick := spdkrpc.Iostat{TickRate: 1000000000, Ticks: uint64(time.Now().UnixNano()), Bdevs: []spdkrpc.BdevIostat{}}
	names, listed := p.strs("names"), p.has("names")
	if p.boolean("per_channel") && len(names) != 1 {
		return nil, syncErr(einval)
	}
	var found []*bdev
	for _, n := range names {
		b, ok := m.lookupBdevLocked(n)
		if !ok {
			return nil, syncErr(enodev)
		}
		found = append(found, b)
	}
	if !listed {
		found = m.bdevs
	}
	if p.boolean("per_channel") {
		// One channel, on the app thread: the only one the simulator has.
		return map[string]any{"tick_rate": tick.TickRate, "ticks": tick.Ticks, "name": found[0].name,
			"channels": []map[string]any{{"thread_id": 1}}}, nil
	}
	for _, b := range found {
		tick.Bdevs = append(tick.Bdevs, spdkrpc.BdevIostat{Name: spdkrpc.BdevName(b.name)})
	}
	return tick, nil
}
