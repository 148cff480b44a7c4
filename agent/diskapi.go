package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spdk-agent/spdk-agent/diskid"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// DiskReport is the answer of agent_disk_list and agent_disk_check, and the
// -o json output of "spdk-agent disk list|check|init" whether the disks are
// read locally or through the agent.
type DiskReport struct {
	Disks    []diskid.DiskStatus `json:"disks"`
	Registry diskid.RegistryInfo `json:"registry"`
	Counters diskid.Counters     `json:"counters"`
}

// NewDiskReport describes what m knows now.
func NewDiskReport(m *diskid.Manager, disks []diskid.DiskStatus) DiskReport {
	if disks == nil {
		disks = []diskid.DiskStatus{}
	}
	_, info, _ := m.Registry()
	return DiskReport{Disks: disks, Registry: info, Counters: m.Counters()}
}

// Problems lists what makes a "disk check" fail: every disk that is not ok
// and a configured registry with no good content.
func (r DiskReport) Problems() []string {
	var bad []string
	for _, d := range r.Disks {
		if d.State != diskid.StateOK {
			bad = append(bad, fmt.Sprintf("%s (%s)", DiskLabel(d), d.State))
		}
	}
	if r.Registry.Path != "" && !r.Registry.Good {
		bad = append(bad, r.Registry.Problem)
	}
	return bad
}

// DiskLabel names a disk for people: its path, or "lvstore NAME".
func DiskLabel(d diskid.DiskStatus) string {
	if d.Kind == diskid.KindLvstore {
		return "lvstore " + string(d.Lvstore)
	}
	return d.Path
}

// DiskRegenerated is the answer of agent_disk_regenerate. OldUUID is empty
// when the replaced identity was damaged.
type DiskRegenerated struct {
	Path    string          `json:"path"`
	OldUUID diskid.DiskUUID `json:"old_uuid"`
	NewUUID diskid.DiskUUID `json:"new_uuid"`
}

// diskPathParams are the params of agent_disk_init and agent_disk_regenerate.
type diskPathParams struct {
	Path  string `json:"path"`
	Force bool   `json:"force"`
}

// decodeDiskPath decodes {path} (and force where allowed) strictly. The
// path must be absolute: the caller's working directory means nothing to
// the agent.
func decodeDiskPath(req *spdkserver.Request, withForce bool) (diskPathParams, error) {
	var p diskPathParams
	var e *spdkrpc.Error
	if withForce {
		e = decodeParams(req.Method, req.Params, &p, true)
	} else {
		var q struct {
			Path string `json:"path"`
		}
		e = decodeParams(req.Method, req.Params, &q, true)
		p.Path = q.Path
	}
	switch {
	case e != nil:
		return p, e
	case p.Path == "":
		return p, invalidParams(req.Method, errors.New(`"path" (an absolute disk directory) is required`))
	case !filepath.IsAbs(p.Path):
		return p, invalidParams(req.Method, fmt.Errorf(`"path" %q is not absolute`, p.Path))
	}
	p.Path = filepath.Clean(p.Path)
	return p, nil
}

func (a *Agent) diskList(_ context.Context, req *spdkserver.Request) (any, error) {
	if e := noParams(req.Method, req.Params); e != nil {
		return nil, e
	}
	return NewDiskReport(a.disks, a.disks.Disks()), nil
}

// diskCheck runs now what the agent runs after every registry change and
// every recheck interval: a reload of the registry and a check of every
// disk. It is read-only in the sense of the allow list: like the periodic
// check, it regenerates only colliding disks that hold nothing but their
// identity, and only when the agent does so anyway.
func (a *Agent) diskCheck(ctx context.Context, req *spdkserver.Request) (any, error) {
	if e := noParams(req.Method, req.Params); e != nil {
		return nil, e
	}
	if err := a.disks.ReloadRegistry(ctx); err != nil {
		// Reported in the registry info of the answer; the disks are
		// still checked against the last good registry.
		a.log.Debug("disk registry reload", "err", err)
	}
	disks, err := a.disks.Check(ctx)
	if err != nil {
		return nil, diskError(req.Method, err)
	}
	return NewDiskReport(a.disks, disks), nil
}

// diskInit registers a filesystem disk with the running agent and gives it
// an identity when it has none. The registration is persisted in the state
// directory before the identity is written, so it survives agent restarts
// like a --disk flag; a disk that cannot be initialised is forgotten again
// (manager and file), so a failed call leaves nothing behind.
func (a *Agent) diskInit(ctx context.Context, req *spdkserver.Request) (any, error) {
	return a.changeDisk(ctx, req, false, func(p diskPathParams, _ *auditRecord) (any, error) {
		_, known := a.disks.Lookup(p.Path)
		registered := false
		if !a.configuredDisk(p.Path) {
			var err error
			if registered, err = a.diskRegs.add(p.Path); err != nil {
				return nil, err
			}
		}
		st, err := a.disks.Init(ctx, p.Path)
		if err != nil {
			if !known {
				a.disks.Remove(p.Path)
			}
			if registered {
				if _, rerr := a.diskRegs.remove(p.Path); rerr != nil {
					a.log.Error("undoing a disk registration", "disk", p.Path, "err", rerr)
				}
			}
			return nil, err
		}
		return st, nil
	})
}

// diskForget stops managing a disk registered with agent_disk_init, now and
// after restarts. The disk's identity file is left as it is. Disks given
// with --disk are refused: the flags own them.
func (a *Agent) diskForget(ctx context.Context, req *spdkserver.Request) (any, error) {
	return a.changeDisk(ctx, req, false, func(p diskPathParams, rec *auditRecord) (any, error) {
		if a.configuredDisk(p.Path) {
			rec.Rule = ruleDiskConfigured
			return nil, refusal(refusalFacts{Rule: ruleDiskConfigured, Method: req.Method, Target: p.Path,
				Reason: "it is given with --disk; remove it from the agent's configuration instead"})
		}
		// The claim goes first: a crash before the registration is gone
		// leaves a registered disk, claimed again at the next start.
		_, managed := a.disks.Lookup(p.Path)
		if managed {
			if err := a.disks.Forget(ctx, p.Path); err != nil {
				return nil, err
			}
		}
		removed, err := a.diskRegs.remove(p.Path)
		if err != nil {
			return nil, err
		}
		if !managed && !removed {
			return nil, fmt.Errorf("%w: %s is not a disk of this agent", diskid.ErrUnknownDisk, p.Path)
		}
		a.disks.Remove(p.Path)
		return map[string]string{"forgotten": p.Path}, nil
	})
}

// diskRegenerate gives a managed filesystem disk a new UUID. Without force
// the manager refuses a disk that holds anything besides its identity or
// carries an lvstore: that refusal is answered like the guard's (code -1,
// rule disk-in-use) and audited as the call's result.
func (a *Agent) diskRegenerate(ctx context.Context, req *spdkserver.Request) (any, error) {
	return a.changeDisk(ctx, req, true, func(p diskPathParams, rec *auditRecord) (any, error) {
		if _, ok := a.disks.Lookup(p.Path); !ok {
			return nil, fmt.Errorf("%w: %s is not a disk of this agent (add it with agent_disk_init)", diskid.ErrUnknownDisk, p.Path)
		}
		old, next, err := a.disks.Regenerate(ctx, p.Path, p.Force)
		if errors.Is(err, diskid.ErrDiskInUse) {
			// The caller was allowed; the manager refused the disk.
			rec.Rule = ruleDiskInUse
		}
		if err != nil && next == "" {
			return nil, err
		}
		// A failed re-check after the new identity was written still
		// changed the disk: the answer carries both UUIDs.
		return DiskRegenerated{Path: p.Path, OldUUID: old, NewUUID: next}, nil
	})
}

// changeDisk runs a mutating disk call: strict params, one call per path at
// a time, an audit record of the decision before and of the result after.
// A call that cannot be recorded does not run.
func (a *Agent) changeDisk(ctx context.Context, req *spdkserver.Request, withForce bool, change func(diskPathParams, *auditRecord) (any, error)) (any, error) {
	p, err := decodeDiskPath(req, withForce)
	if err != nil {
		return nil, err
	}
	unlock, err := a.locks.lock(ctx, "disk:"+p.Path)
	if err != nil {
		return nil, diskError(req.Method, err)
	}
	defer unlock()
	rec := a.audit.newRecord(req.Peer, req.Method, req.Params)
	rec.Stage, rec.Decision = "decision", decisionAllowed
	if err := a.audit.write(rec); err != nil {
		return nil, &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: fmt.Sprintf("spdk-agent: %s not run: %v", req.Method, err)}
	}
	res, err := change(p, &rec)
	rec.Stage, rec.Decision = "result", ""
	if err != nil {
		rec.Error = err.Error()
	} else if b, merr := json.Marshal(res); merr == nil {
		// For regenerate: the path, the old and the new UUID.
		rec.Result = string(b)
	}
	if werr := a.audit.write(rec); werr != nil {
		a.log.Error("audit", "err", werr)
	}
	if err != nil {
		return nil, diskError(req.Method, err)
	}
	return res, nil
}

// Rules of refused disk calls.
const (
	ruleDiskInUse      = "disk-in-use"     // regeneration of a disk in use
	ruleDiskConfigured = "disk-configured" // forgetting a --disk disk
)

// diskErrnos maps the diskid sentinels to SPDK-style errno codes and their
// strerror texts, so that SPDK clients classify them as usual.
var diskErrnos = []struct {
	sentinel error
	code     int
	text     string
}{
	{diskid.ErrUnknownDisk, -19, "No such device"},
	{diskid.ErrDiskMissing, -2, "No such file or directory"},
	{diskid.ErrIdentityExists, -17, "File exists"},
	{diskid.ErrLocked, -16, "Device or resource busy"},
	{diskid.ErrIdentityChanged, -16, "Device or resource busy"},
	{diskid.ErrPrefixSpaceFull, -28, "No space left on device"},
	{diskid.ErrIdentityMissing, -5, "Input/output error"},
	{diskid.ErrIdentityEmpty, -5, "Input/output error"},
	{diskid.ErrIdentityCorrupt, -5, "Input/output error"},
	{diskid.ErrIdentityVersion, -5, "Input/output error"},
	{diskid.ErrNotRegular, -5, "Input/output error"},
}

// diskError turns an error of the disk manager into an SPDK-style error
// whose message starts with the strerror text and goes on with the
// manager's words (which name the path or file and the problem).
func diskError(method string, err error) error {
	var se *spdkrpc.Error
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, diskid.ErrDiskInUse) {
		return refusal(refusalFacts{Rule: ruleDiskInUse, Method: method, Reason: err.Error()})
	}
	for _, m := range diskErrnos {
		if errors.Is(err, m.sentinel) {
			return &spdkrpc.Error{Code: m.code, Message: fmt.Sprintf("%s: %s: %v", m.text, method, err)}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: fmt.Sprintf("spdk-agent: %s: %v", method, err)}
	}
	// A disk whose init ends in a failed state (unreadable directory, ...)
	// is reported by the manager in its own words.
	return &spdkrpc.Error{Code: -5, Message: fmt.Sprintf("Input/output error: %s: %v", method, err)}
}
