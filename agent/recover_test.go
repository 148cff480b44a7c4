package agent

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func TestRecoverCall(t *testing.T) {
	var logged bytes.Buffer
	a := &Agent{log: slog.New(slog.NewTextHandler(&logged, nil))}

	res, err := a.recoverCall("bdev_lvol_delete", func() (any, error) { panic("boom") })
	var se *spdkrpc.Error
	if res != nil || !errors.As(err, &se) || se.Code != spdkrpc.CodeInternalError || !strings.Contains(se.Message, "bdev_lvol_delete") {
		t.Fatalf("after a panic: %v, %v; want an internal error naming the method", res, err)
	}
	if !strings.Contains(logged.String(), "boom") || !strings.Contains(logged.String(), "recover_test.go") {
		t.Errorf("the panic and its stack are not logged: %s", logged.String())
	}

	res, err = a.recoverCall("x", func() (any, error) { return 42, nil })
	if res != 42 || err != nil {
		t.Errorf("without a panic: %v, %v", res, err)
	}
}
