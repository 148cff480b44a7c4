package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// agentMethod is one method the agent answers itself.
type agentMethod struct {
	// mutating methods need a caller on the allow list.
	mutating bool
	fn       func(a *Agent, ctx context.Context, req *spdkserver.Request) (any, error)
}

// agentMethods are the agent_* methods; see the package documentation.
var agentMethods map[string]agentMethod

func init() {
	// Assigned here rather than in the declaration: the functions refer
	// to agentMethods through rpcGetMethods.
	agentMethods = map[string]agentMethod{
		"agent_get_status":     {fn: (*Agent).getStatus},
		"agent_get_lvstores":   {fn: (*Agent).getLvstores},
		"agent_get_lvols":      {fn: (*Agent).getLvols},
		"agent_get_lvol":       {fn: (*Agent).getLvol},
		"agent_get_graph":      {fn: (*Agent).getGraph},
		"agent_plan_cleanup":   {fn: (*Agent).planCleanup},
		"agent_apply_cleanup":  {mutating: true, fn: (*Agent).applyCleanup},
		"agent_forget_lvstore": {mutating: true, fn: (*Agent).forgetLvstore},
		// Disk identities: see diskapi.go.
		"agent_disk_list":       {fn: (*Agent).diskList},
		"agent_disk_check":      {fn: (*Agent).diskCheck},
		"agent_disk_init":       {mutating: true, fn: (*Agent).diskInit},
		"agent_disk_regenerate": {mutating: true, fn: (*Agent).diskRegenerate},
		"agent_disk_forget":     {mutating: true, fn: (*Agent).diskForget},
	}
}

// errNoGraph is answered by queries before the first full sync.
var errNoGraph = &spdkrpc.Error{Code: spdkrpc.CodeInternalError, Message: "spdk-agent: no graph yet: SPDK has not been read since the agent started"}

func (a *Agent) serveAgentMethod(ctx context.Context, req *spdkserver.Request) (any, error) {
	m, ok := agentMethods[req.Method]
	if !ok {
		return nil, &spdkrpc.Error{Code: spdkrpc.CodeMethodNotFound, Message: "Method not found"}
	}
	if m.mutating {
		if e := a.allow.checkCaller(req.Peer, req.Method); e != nil {
			a.auditRefusal(req, e)
			return nil, e
		}
	}
	return m.fn(a, ctx, req)
}

// Status is the answer of agent_get_status.
type Status struct {
	SPDK  SPDKStatus  `json:"spdk"`
	Graph GraphStatus `json:"graph"`
	// Uncertain are the objects of guarded calls SPDK did not answer in
	// time; graph-changing calls on them are refused until they settle.
	Uncertain []string `json:"uncertain,omitempty"`
}

// SPDKStatus describes the connection to SPDK.
type SPDKStatus struct {
	Socket    string `json:"socket"`
	Connected bool   `json:"connected"`
	// Unanswered is true while the agent's reads of a connected SPDK run
	// out of time (a stopped or hung target).
	Unanswered bool   `json:"unanswered,omitempty"`
	Version    string `json:"version,omitempty"`
}

// GraphStatus describes the current graph and how far to trust it.
type GraphStatus struct {
	Generation  uint64              `json:"generation"`
	ReadAt      time.Time           `json:"read_at"`
	ConfirmedAt time.Time           `json:"confirmed_at"`
	AgeSeconds  float64             `json:"age_seconds"`
	Synced      bool                `json:"synced"`
	Complete    bool                `json:"complete"`
	Stale       bool                `json:"stale"`
	Missing     []string            `json:"missing_lvstores,omitempty"`
	Lvstores    int                 `json:"lvstores"`
	Lvols       int                 `json:"lvols"`
	Anomalies   []lvolgraph.Anomaly `json:"anomalies,omitempty"`
	Orphans     []LvstoreOrphans    `json:"orphans,omitempty"`
	// ReadInParts is true while full syncs read SPDK per lvstore and per
	// lvol, the node being too large for whole listings.
	ReadInParts bool `json:"read_in_parts,omitempty"`
}

// status computes the Status from the current snapshot.
func (a *Agent) status() Status {
	st := Status{SPDK: SPDKStatus{Socket: a.cfg.SPDKSocket, Connected: a.follower.connected.Load(), Unanswered: a.follower.unanswered.Load()}, Uncertain: a.uncertain.list()}
	if len(a.clients) > 0 {
		st.SPDK.Version = a.clients[0].Version()
	}
	snap := a.follower.current()
	if snap == nil {
		st.Graph.Stale = true
		return st
	}
	confirmed := a.follower.confirmedAt()
	age := time.Since(confirmed)
	st.Graph = GraphStatus{
		Generation:  snap.Gen,
		ReadAt:      snap.ReadAt.UTC(),
		ConfirmedAt: confirmed.UTC(),
		AgeSeconds:  age.Seconds(),
		Synced:      snap.Synced,
		Complete:    snap.Complete(),
		Stale:       age > a.cfg.MaxGraphAge || snap.Restored,
		Missing:     snap.Missing,
		Lvstores:    len(snap.Graph.Lvstores()),
		Lvols:       snap.Graph.Len(),
		Anomalies:   snap.Graph.Anomalies(),
		Orphans:     viewStatus(snap, nil, a.freshness()).Orphans,
		ReadInParts: a.follower.inParts.Load(),
	}
	return st
}

func (a *Agent) getStatus(_ context.Context, req *spdkserver.Request) (any, error) {
	if e := noParams(req.Method, req.Params); e != nil {
		return nil, e
	}
	return a.status(), nil
}

func (a *Agent) getLvstores(_ context.Context, req *spdkserver.Request) (any, error) {
	if e := noParams(req.Method, req.Params); e != nil {
		return nil, e
	}
	snap := a.follower.current()
	if snap == nil {
		return nil, errNoGraph
	}
	return lvstoreInfos(snap.Graph, nil), nil
}

// lvstoreParams selects an lvstore by name or UUID; empty means all.
type lvstoreParams struct {
	Lvstore string `json:"lvstore"`
}

// selectLvstore resolves p.Lvstore; nil means every lvstore.
func selectLvstore(g *lvolgraph.Graph, method, ref string) (*lvolgraph.Lvstore, error) {
	if ref == "" {
		return nil, nil
	}
	r, err := lvstoreRef(g, ref)
	if err != nil {
		return nil, err
	}
	l, ok := g.Lvstore(r)
	if !ok {
		return nil, &spdkrpc.Error{Code: -19, Message: fmt.Sprintf("No such device: %s: no lvstore %q", method, ref)}
	}
	return l, nil
}

// lvstoreRef resolves an "lvstore name or UUID" parameter explicitly
// (invariant 1) rather than by the string's shape: SPDK accepts lvstore
// names with a slash or shaped like a UUID. A string that is the name of one
// lvstore and the UUID (in either case) of another is refused as ambiguous;
// one that names none is returned as a name, for the caller's not-found.
func lvstoreRef(g *lvolgraph.Graph, s string) (lvolgraph.Ref, *spdkrpc.Error) {
	byName, named := g.Lvstore(lvolgraph.NameRef(s))
	var byUUID *lvolgraph.Lvstore
	found := false
	if spdkrpc.IsUUID(s) {
		byUUID, found = g.Lvstore(lvolgraph.UUIDRef(strings.ToLower(s)))
	}
	switch {
	case named && found && byName.UUID != byUUID.UUID:
		return lvolgraph.Ref{}, &spdkrpc.Error{Code: -22, Message: fmt.Sprintf("Invalid argument: %q is the name of lvstore %s and the UUID of lvstore %s; give the other's UUID",
			s, byName.UUID, byUUID.Name)}
	case named:
		return lvolgraph.UUIDRef(byName.UUID), nil
	case found:
		return lvolgraph.UUIDRef(byUUID.UUID), nil
	}
	return lvolgraph.NameRef(s), nil
}

// lvstoreQuery decodes the optional lvstore filter of a query and returns
// the current snapshot with the selected lvstore (nil: all).
func (a *Agent) lvstoreQuery(req *spdkserver.Request) (*Snapshot, *lvolgraph.Lvstore, error) {
	var p lvstoreParams
	if e := decodeParams(req.Method, req.Params, &p, false); e != nil {
		return nil, nil, e
	}
	snap := a.follower.current()
	if snap == nil {
		return nil, nil, errNoGraph
	}
	only, err := selectLvstore(snap.Graph, req.Method, p.Lvstore)
	if err != nil {
		return nil, nil, err
	}
	return snap, only, nil
}

// LvolsReply is the answer of agent_get_lvols.
type LvolsReply struct {
	Status ViewStatus `json:"status"`
	Lvols  []LvolInfo `json:"lvols"`
}

func (a *Agent) getLvols(_ context.Context, req *spdkserver.Request) (any, error) {
	snap, only, err := a.lvstoreQuery(req)
	if err != nil {
		return nil, err
	}
	return LvolsReply{Status: viewStatus(snap, only, a.freshness()), Lvols: lvolInfos(snap.Graph, only)}, nil
}

// LvolDetail is the answer of agent_get_lvol.
type LvolDetail struct {
	Lvol        LvolInfo   `json:"lvol"`
	Ancestors   []LvolInfo `json:"ancestors"`
	Descendants []LvolInfo `json:"descendants"`
}

func (a *Agent) getLvol(_ context.Context, req *spdkserver.Request) (any, error) {
	var p struct {
		Name string `json:"name"`
	}
	if e := decodeParams(req.Method, req.Params, &p, true); e != nil {
		return nil, e
	}
	if p.Name == "" {
		return nil, invalidParams(req.Method, errors.New(`"name" (an lvol alias or UUID) is required`))
	}
	snap := a.follower.current()
	if snap == nil {
		return nil, errNoGraph
	}
	g := snap.Graph
	l, ok := g.Lvol(lvolgraph.ParseRef(p.Name))
	if !ok {
		return nil, &spdkrpc.Error{Code: -19, Message: fmt.Sprintf("No such device: no lvol %q in graph generation %d", p.Name, snap.Gen)}
	}
	d := LvolDetail{Lvol: lvolInfo(g, l), Ancestors: []LvolInfo{}, Descendants: []LvolInfo{}}
	for _, x := range g.Ancestors(l) {
		d.Ancestors = append(d.Ancestors, lvolInfo(g, x))
	}
	for _, x := range g.Descendants(l) {
		d.Descendants = append(d.Descendants, lvolInfo(g, x))
	}
	return d, nil
}

// GraphReply is the answer of agent_get_graph.
type GraphReply struct {
	// Status says how far the rest can be trusted.
	Status     ViewStatus          `json:"status"`
	Generation uint64              `json:"generation"`
	ReadAt     time.Time           `json:"read_at"`
	Complete   bool                `json:"complete"`
	Missing    []string            `json:"missing_lvstores,omitempty"`
	Lvstores   []LvstoreInfo       `json:"lvstores"`
	Lvols      []LvolInfo          `json:"lvols"`
	Bdevs      []*lvolgraph.Bdev   `json:"bdevs"`
	Anomalies  []lvolgraph.Anomaly `json:"anomalies,omitempty"`
}

func (a *Agent) getGraph(_ context.Context, req *spdkserver.Request) (any, error) {
	snap, only, err := a.lvstoreQuery(req)
	if err != nil {
		return nil, err
	}
	return graphReply(snap, only, a.freshness()), nil
}

// graphReply describes snap, limited to one lvstore unless only is nil.
func graphReply(snap *Snapshot, only *lvolgraph.Lvstore, f freshness) GraphReply {
	g := snap.Graph
	bdevs := g.Bdevs()
	if bdevs == nil {
		bdevs = []*lvolgraph.Bdev{}
	}
	return GraphReply{
		Status:     viewStatus(snap, only, f),
		Generation: snap.Gen,
		ReadAt:     snap.ReadAt.UTC(),
		Complete:   snap.Complete(),
		Missing:    snap.Missing,
		Lvstores:   lvstoreInfos(g, only),
		Lvols:      lvolInfos(g, only),
		Bdevs:      bdevs,
		Anomalies:  g.Anomalies(),
	}
}

// forgetLvstore retires a remembered lvstore for good, so that its absence
// no longer makes the graph incomplete.
func (a *Agent) forgetLvstore(_ context.Context, req *spdkserver.Request) (any, error) {
	var p lvstoreParams
	if e := decodeParams(req.Method, req.Params, &p, true); e != nil {
		return nil, e
	}
	if p.Lvstore == "" {
		return nil, invalidParams(req.Method, errors.New(`"lvstore" (a name or UUID) is required`))
	}
	// Resolved explicitly to one remembered lvstore (invariant 1): its name
	// and its UUID are then compared with names and UUIDs respectively.
	ms := a.seen.match(p.Lvstore)
	switch {
	case len(ms) == 0:
		return nil, &spdkrpc.Error{Code: -19, Message: fmt.Sprintf("No such device: lvstore %q is not remembered", p.Lvstore)}
	case len(ms) > 1:
		return nil, &spdkrpc.Error{Code: -22, Message: fmt.Sprintf("Invalid argument: %q names lvstore %s (%s) and lvstore %s (%s); give the UUID",
			p.Lvstore, ms[0].Name, ms[0].UUID, ms[1].Name, ms[1].UUID)}
	}
	target := ms[0]
	rec := a.audit.newRecord(req.Peer, req.Method, req.Params)
	rec.Stage, rec.Decision = "decision", decisionAllowed
	for _, c := range a.cfg.ExpectLvstores {
		if c == string(target.Name) || strings.EqualFold(c, string(target.UUID)) {
			rec.Decision, rec.Rule, rec.Reason = decisionRefused, "configured", "named by --expect-lvstore"
			return nil, a.auditOrFail(rec, refusal(refusalFacts{Rule: "configured", Method: req.Method, Target: p.Lvstore,
				Reason: fmt.Sprintf("lvstore %s (%s) is named by --expect-lvstore %s; remove it from the configuration instead", target.Name, target.UUID, c)}))
		}
	}
	if snap := a.follower.current(); snap != nil && snap.Graph != nil {
		if l, ok := snap.Graph.Lvstore(lvolgraph.UUIDRef(target.UUID)); ok && l.Listed {
			rec.Decision, rec.Rule, rec.Reason = decisionRefused, "lvstore-present", "SPDK still reports it"
			return nil, a.auditOrFail(rec, refusal(refusalFacts{Rule: "lvstore-present", Method: req.Method, Target: p.Lvstore,
				Reason: fmt.Sprintf("SPDK still reports lvstore %s (%s); only an absent lvstore can be forgotten", l.Name, l.UUID)}))
		}
	}
	gone, err := a.seen.forget(target.UUID)
	if err != nil {
		return nil, err
	}
	if err := a.audit.write(rec); err != nil {
		a.log.Error("audit", "err", err)
	}
	// A full sync recomputes what is missing.
	rctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	if _, err := a.follower.request(rctx, nil, true); err != nil {
		a.log.Warn("full sync after forgetting an lvstore", "err", err)
	}
	return map[string]string{"forgotten_uuid": string(gone.UUID), "forgotten_name": string(gone.Name)}, nil
}
