package agent

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// RenderTree writes the ancestry of every lvstore in g as an indented tree,
// like lsblk: roots first, each lvol under the lvol or bdev it reads from,
// marked as snapshot, clone, esnap clone, backing image, orphan or protected.
// A first line says why the tree may be out of date or wrong, if it may.
func RenderTree(w io.Writer, g GraphReply) {
	byUUID := map[spdkrpc.LvolUUID]LvolInfo{}
	for _, l := range g.Lvols {
		byUUID[l.UUID] = l
	}
	// Esnap clones of bdevs that are not lvols hang under the bdev.
	external := map[spdkrpc.BdevUUID][]LvolInfo{}
	kids := map[spdkrpc.LvolUUID][]LvolInfo{}
	for _, l := range g.Lvols {
		switch {
		case l.Parent == nil:
		case l.Parent.UUID != "" && hasLvol(byUUID, l.Parent.UUID):
			kids[l.Parent.UUID] = append(kids[l.Parent.UUID], l)
		case l.Parent.Kind == "external":
			external[l.Parent.Bdev] = append(external[l.Parent.Bdev], l)
		}
	}
	RenderWarning(w, g.Status)
	for _, s := range g.Lvstores {
		fmt.Fprintf(w, "lvstore %s (%s) on %s, %s%s\n", s.Name, s.UUID, s.BaseBdev, count(s.Lvols, "lvol", "lvols"), untrusted(s))
		var lines []string
		var walk func(l LvolInfo, prefix string, last bool)
		walk = func(l LvolInfo, prefix string, last bool) {
			branch, next := "├─ ", "│  "
			if last {
				branch, next = "└─ ", "   "
			}
			lines = append(lines, prefix+branch+string(l.Name)+marks(l))
			ch := kids[l.UUID]
			for i, c := range ch {
				walk(c, prefix+next, i == len(ch)-1)
			}
		}
		var roots []LvolInfo
		for _, l := range g.Lvols {
			if l.Lvstore == s.UUID && (l.Parent == nil || !hasLvol(byUUID, l.Parent.UUID)) && !(l.Parent != nil && l.Parent.Kind == "external") {
				roots = append(roots, l)
			}
		}
		bdevs := externalBdevsOf(s.UUID, external)
		for i, b := range bdevs {
			lastRoot := i == len(bdevs)-1 && len(roots) == 0
			branch, next := "├─ ", "│  "
			if lastRoot {
				branch, next = "└─ ", "   "
			}
			name := string(b)
			if ls := external[b]; len(ls) > 0 && ls[0].Parent.BdevName != "" {
				name = string(ls[0].Parent.BdevName)
			}
			lines = append(lines, branch+"bdev "+name+" [backing image, external]")
			ls := inLvstore(external[b], s.UUID)
			for j, l := range ls {
				walk(l, next, j == len(ls)-1)
			}
		}
		for i, l := range roots {
			walk(l, "", i == len(roots)-1)
		}
		for _, line := range lines {
			fmt.Fprintln(w, "  "+line)
		}
	}
}

// count renders n with the singular or plural form of what it counts.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func hasLvol(m map[spdkrpc.LvolUUID]LvolInfo, u spdkrpc.LvolUUID) bool {
	if u == "" {
		return false
	}
	_, ok := m[u]
	return ok
}

func untrusted(s LvstoreInfo) string {
	if s.Trustworthy {
		return ""
	}
	return " [NOT TRUSTWORTHY: anomalies]"
}

// externalBdevsOf returns, sorted, the external bdevs that lvols of lvs read from.
func externalBdevsOf(lvs spdkrpc.LvstoreUUID, external map[spdkrpc.BdevUUID][]LvolInfo) []spdkrpc.BdevUUID {
	var out []spdkrpc.BdevUUID
	for b, ls := range external {
		if len(inLvstore(ls, lvs)) > 0 {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func inLvstore(ls []LvolInfo, lvs spdkrpc.LvstoreUUID) []LvolInfo {
	var out []LvolInfo
	for _, l := range ls {
		if l.Lvstore == lvs {
			out = append(out, l)
		}
	}
	return out
}

// marks renders what an lvol is, for the tree.
func marks(l LvolInfo) string {
	var m []string
	if l.Snapshot {
		m = append(m, "snapshot")
	}
	if l.Clone {
		m = append(m, "clone")
	}
	if l.EsnapClone {
		m = append(m, "esnap clone")
	}
	if l.BackingImage {
		m = append(m, "backing image")
	}
	if l.Degraded {
		m = append(m, "DEGRADED")
	}
	if l.Orphan {
		m = append(m, "orphan")
	}
	if l.Protected != nil {
		m = append(m, "protected: "+l.Protected.Rule)
	}
	if len(m) == 0 {
		return ""
	}
	return " [" + strings.Join(m, ", ") + "]"
}

// RenderDOT writes g as a Graphviz digraph: one cluster per lvstore, an
// edge from each lvol to what it reads from.
func RenderDOT(w io.Writer, g GraphReply) {
	fmt.Fprintln(w, "digraph lvols {")
	fmt.Fprintln(w, "  rankdir=BT;")
	fmt.Fprintln(w, "  node [shape=box, fontname=\"monospace\"];")
	for i, s := range g.Lvstores {
		fmt.Fprintf(w, "  subgraph cluster_%d {\n    label=%q;\n", i, fmt.Sprintf("lvstore %s on %s", s.Name, s.BaseBdev))
		for _, l := range g.Lvols {
			if l.Lvstore != s.UUID {
				continue
			}
			style := ""
			switch {
			case l.Protected != nil && l.BackingImage:
				style = `, style=filled, fillcolor="#f4cccc"`
			case l.Snapshot:
				style = `, style=filled, fillcolor="#d9ead3"`
			}
			fmt.Fprintf(w, "    %q [label=%q%s];\n", string(l.UUID), string(l.Name)+marks(l), style)
		}
		fmt.Fprintln(w, "  }")
	}
	// Bdevs are named by name: an aio bdev's UUID derives from its file's
	// path, which says nothing to a reader.
	bdevName := map[spdkrpc.BdevUUID]spdkrpc.BdevName{}
	for _, b := range g.Bdevs {
		bdevName[b.UUID] = b.Name
		fmt.Fprintf(w, "  %q [label=%q, shape=cylinder];\n", "bdev:"+string(b.Name), "bdev "+string(b.Name))
	}
	for _, l := range g.Lvols {
		if l.Parent == nil {
			continue
		}
		to := string(l.Parent.UUID)
		if to == "" {
			to = "bdev:" + string(l.Parent.Bdev)
			if name, ok := bdevName[l.Parent.Bdev]; ok {
				to = "bdev:" + string(name)
			}
		}
		fmt.Fprintf(w, "  %q -> %q;\n", string(l.UUID), to)
	}
	fmt.Fprintln(w, "}")
}

// RenderPlan writes a cleanup plan for people.
func RenderPlan(w io.Writer, p PlanReply) {
	fmt.Fprintf(w, "cleanup plan for replica %s in lvstore %s, graph generation %d\n", p.Replica, lvstoreLabel(p.LvstoreName, p.Lvstore), p.Generation)
	if !p.Complete {
		fmt.Fprintf(w, "  WARNING: graph incomplete (missing %s): apply would be refused\n", strings.Join(p.Missing, ", "))
	}
	fmt.Fprintf(w, "  delete, in this order (%d):\n", len(p.Delete))
	for i, s := range p.Delete {
		fmt.Fprintf(w, "    %d. %s (%s)\n", i+1, s.Alias, s.UUID)
	}
	fmt.Fprintf(w, "  keep (%d):\n", len(p.Refused))
	for _, r := range p.Refused {
		fmt.Fprintf(w, "    - %s [%s]: %s\n", r.Alias, r.Rule, withoutSubject(r.Reason, r.Alias))
	}
}

// lvstoreLabel names an lvstore for people: its name and UUID.
func lvstoreLabel(name spdkrpc.LvstoreName, u spdkrpc.LvstoreUUID) string {
	if name == "" {
		return string(u)
	}
	return fmt.Sprintf("%s (%s)", name, u)
}

// withoutSubject drops the lvol's alias from the start of a reason printed
// right after that alias, so long names are not read twice.
func withoutSubject(reason string, alias spdkrpc.LvolAlias) string {
	return strings.TrimPrefix(reason, string(alias)+" ")
}

// RenderReport writes the outcome of a cleanup for people.
func RenderReport(w io.Writer, r CleanupReport) {
	fmt.Fprintf(w, "cleanup of replica %s in lvstore %s, graph generation %d\n", r.Replica, lvstoreLabel(r.LvstoreName, r.Lvstore), r.Generation)
	fmt.Fprintf(w, "  deleted (%d):\n", len(r.Deleted))
	for _, s := range r.Deleted {
		fmt.Fprintf(w, "    - %s (%s)\n", s.Alias, s.UUID)
	}
	fmt.Fprintf(w, "  skipped (%d):\n", len(r.Skipped))
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "    - %s: %s\n", s.Alias, s.Reason)
	}
	fmt.Fprintf(w, "  protected (%d):\n", len(r.Protected))
	for _, p := range r.Protected {
		fmt.Fprintf(w, "    - %s [%s]: %s\n", p.Alias, p.Rule, withoutSubject(p.Reason, p.Alias))
	}
	if r.Stopped != nil {
		fmt.Fprintf(w, "  STOPPED at %s [%s]: %s\n", r.Stopped.Alias, r.Stopped.Rule, r.Stopped.Reason)
	}
}
