package spdkserver_test

import (
	"fmt"

	"github.com/spdk-agent/spdk-agent/spdkrpc/spdkserver"
)

// A Splitter cuts a stream of requests however it arrives.
func ExampleSplitter() {
	var s spdkserver.Splitter
	for _, chunk := range []string{`{"id":1,"method":"a"}{"id"`, `:2,"method":"b"} }x`} {
		s.Write([]byte(chunk))
		for {
			v, err := s.Next()
			if err != nil {
				fmt.Println("close:", err)
				return
			}
			if v == nil {
				break
			}
			fmt.Println(string(v))
		}
	}
	// Output:
	// {"id":1,"method":"a"}
	// {"id":2,"method":"b"}
	// close: spdkserver: bytes that cannot be JSON: byte '}' at offset 0 of the request
}
