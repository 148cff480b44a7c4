// Command etcd is etcd's server, built from the module proxy at the version
// this module pins, for tests that need a real API server behind them.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
