package embedded_test

import (
	"context"
	"fmt"
	"os"

	"github.com/svcnet/svcnet/examples/controller/embedded"
)

// A member keeps its data across a stop and a restart on the same endpoint.
func Example() {
	dir, _ := os.MkdirTemp("", "embedded-example-")
	defer os.RemoveAll(dir)
	e, err := embedded.Start(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	cli, _ := e.Client()
	defer cli.Close()
	ctx := context.Background()
	cli.Put(ctx, "/demo/key", "kept")
	e.Stop()
	if err := e.Restart(); err != nil {
		fmt.Println(err)
		return
	}
	resp, err := cli.Get(ctx, "/demo/key")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(resp.Kvs[0].Value))
	// Output: kept
}
