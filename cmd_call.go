package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/spdk-agent/spdk-agent/spdkrpc"
)

func init() {
	register(&command{name: "call", summary: "call any JSON-RPC method through the agent (like SPDK's rpc.py)", run: clientCmd("call", runCall)})
	flagsOf["call"] = func(*flag.FlagSet) {}
	checkArgs["call"] = func(e *clientEnv) error {
		_, _, err := callArgs(e.args)
		return err
	}
}

// callArgs returns the method and params of "call METHOD [PARAMS-JSON]".
func callArgs(args []string) (string, json.RawMessage, error) {
	if len(args) < 1 || len(args) > 2 {
		return "", nil, fmt.Errorf("%w: want METHOD [PARAMS-JSON], e.g. call bdev_get_bdevs '{\"name\":\"lvs0/vol1\"}'", errUsage)
	}
	var params json.RawMessage
	if len(args) == 2 {
		params = json.RawMessage(args[1])
		if !json.Valid(params) {
			return "", nil, fmt.Errorf("%w: params %q are not valid JSON", errUsage, args[1])
		}
	}
	return args[0], params, nil
}

// runCall sends one method with raw JSON params and prints the answer: the
// way to reach SPDK through the agent's guard from a shell, and to see the
// guard's refusals exactly as SPDK clients get them.
func runCall(ctx context.Context, e *clientEnv) error {
	method, params, err := callArgs(e.args)
	if err != nil {
		return err
	}
	res, err := e.c.CallRaw(ctx, method, params)
	var se *spdkrpc.Error
	if errors.As(err, &se) {
		fmt.Fprintf(e.out, "error %d: %s\n", se.Code, se.Message)
		if len(se.Data) > 0 {
			fmt.Fprintf(e.out, "data: %s\n", indentJSON(se.Data))
		}
		return fmt.Errorf("%s answered error %d", method, se.Code)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.out, indentJSON(res))
	return nil
}

// indentJSON indents raw for people; raw is returned as is when it is not
// valid JSON.
func indentJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}
