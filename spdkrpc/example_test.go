package spdkrpc_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

// A client made with New is usable at once; WaitConnected waits for SPDK.
// Errors are classified with errors.Is, and SPDK's own answer is reachable
// with errors.As.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c := spdkrpc.New("/var/tmp/spdk.sock", spdkrpc.Options{})
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		log.Fatal(err)
	}
	err := c.DeleteLvol(ctx, spdkrpc.LvolAlias("lvs0/vol1").Ref())
	var se *spdkrpc.Error
	switch {
	case errors.Is(err, spdkrpc.ErrNotFound):
		// Absent is as good as deleted.
	case errors.Is(err, spdkrpc.ErrDisconnected):
		log.Printf("SPDK went away; the delete may or may not have happened: %v", err)
	case errors.As(err, &se):
		log.Printf("SPDK refused: code %d, %q", se.Code, se.Message)
	}
}
