// Package health serves liveness, readiness and Prometheus metrics over HTTP
// on a Unix socket.
package health
