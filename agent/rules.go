package agent

import (
	"github.com/spdk-agent/spdk-agent/lvolgraph"
	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// verdict is a graph rule's decision in the agent's terms. found is false
// when the graph does not know the object: SPDK then answers for itself
// ("No such device"), since the guard's read just came from SPDK.
type verdict struct {
	Allowed    bool
	Rule       string
	Reason     string
	Dependents []string
}

func verdictOf(d lvolgraph.Decision) (verdict, bool) {
	if d.Unknown() {
		return verdict{Allowed: true}, false
	}
	v := verdict{Allowed: d.Allowed, Rule: string(d.Rule), Reason: d.Reason}
	for _, a := range d.Dependents {
		v.Dependents = append(v.Dependents, string(a))
	}
	return v, true
}

func checkDeleteLvol(g *lvolgraph.Graph, target string) (verdict, bool) {
	return verdictOf(g.CheckDeleteLvol(lvolgraph.ParseRef(target)))
}

func checkDeleteLvstore(g *lvolgraph.Graph, target string) (verdict, bool) {
	return verdictOf(g.CheckDeleteLvstore(lvolgraph.ParseRef(target)))
}

func checkDeleteBdev(g *lvolgraph.Graph, target string) (verdict, bool) {
	return verdictOf(g.CheckDeleteBdev(spdkrpc.BdevName(target)))
}
