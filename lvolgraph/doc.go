// Package lvolgraph holds an immutable graph of a node's lvstores and lvols
// and the rules that decide what may be deleted.
package lvolgraph
