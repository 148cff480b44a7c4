package agent

import (
	"context"
	"sync"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// agentMetrics feeds the agent's events to metrics. Its methods are safe on
// a nil receiver, so code paths need not check whether metrics are on.
type agentMetrics struct {
	a *Agent
}

func newAgentMetrics(a *Agent) *agentMetrics { return &agentMetrics{a: a} }

func (m *agentMetrics) callDone(method string, d time.Duration, err error) {}
func (m *agentMetrics) connected(version string)                           {}
func (m *agentMetrics) disconnected(err error)                             {}
func (m *agentMetrics) guardDecision(method, rule string, allowed bool)    {}
func (m *agentMetrics) cleanupStep(outcome string)                         {}
func (m *agentMetrics) followerHooks() followerHooks                       { return followerHooks{} }
func (m *agentMetrics) auditCounter() func(stage, decision string)         { return nil }

// poolObserver observes the forwarding connections.
func (m *agentMetrics) poolObserver() spdkrpc.Observer { return poolObserver{m} }

type poolObserver struct{ m *agentMetrics }

func (o poolObserver) CallDone(method string, d time.Duration, err error) {
	o.m.callDone(method, d, err)
}
func (o poolObserver) Connected(string)   {}
func (o poolObserver) Disconnected(error) {}

// startHealth serves the health socket when configured.
func (a *Agent) startHealth(ctx context.Context, wg *sync.WaitGroup, errc chan<- error) {}
