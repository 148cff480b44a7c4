// Package deploy holds no code: it is the test module of the Kubernetes
// manifests, alert rules and dashboard in this directory. Its tests decode
// every manifest strictly into the Kubernetes and prometheus-operator API
// types, check the invariants the agent relies on (exec probes, host paths,
// security context, grace period), and check that every metric the alerts
// and the dashboard use appears in the agent's real scrape (the module
// root's testdata/metrics-e2e.golden).
//
// It is a module of its own so that the Kubernetes API packages never reach
// the agent binary. Run it with:
//
//	cd deploy && go test ./...
package deploy
