package guard

import (
	"encoding/json"
	"fmt"
)

// DefaultMaxNameBytes is SPDK's limit for lvol and lvstore names.
const DefaultMaxNameBytes = 63

// Decide judges one call of a Graph method. env.State must hold a fresh
// read when the method's entry says Fresh; otherwise it may hold the last
// one, or nil. Params that SPDK's decoder would read differently from
// Go's are refused; an allowed decision carries the params to forward.
func Decide(method string, raw json.RawMessage, env Env) Decision {
	e, ok := table[method]
	if !ok || e.Class != Graph {
		return Decision{Rule: RuleMethodUnknown, Reason: fmt.Sprintf("%s is not a graph-changing method", method)}
	}
	p, err := ParseParams(raw)
	if err != nil {
		return Decision{Rule: RuleInvalidParams, Reason: err.Error()}
	}
	if env.MaxNameBytes <= 0 {
		env.MaxNameBytes = DefaultMaxNameBytes
	}
	if e.Fresh && env.State == nil {
		return Decision{Rule: RuleUncertain, Reason: "no fresh read of SPDK to decide on"}
	}
	c := &call{method: method, p: p, env: env, s: env.State}
	return e.check(c)
}
