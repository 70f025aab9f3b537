package etcd

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/nodeagent"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(childNodeEnv); spec != "" {
		if err := runChildNode(spec); err != nil {
			fmt.Fprintln(os.Stderr, "child node:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m,
		// A member killed abruptly (etcdtest.Kill) leaves etcd's own peer HTTP
		// connections to wind down inside net/http: neither ours nor the test's.
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*connReader).backgroundRead"),
	)
}

// runChildNode is BenchmarkPropagationKernel's child: a watching node alone in its
// process (etcd client, ServiceDelivery, node agent, dataplane), so that its
// memory is its own. Once the whole state is in its kernel it prints its VmRSS
// and VmHWM in MiB, then follows etcd until its stdin closes.
func runChildNode(spec string) error {
	eps, nsPath, _ := strings.Cut(spec, " ")
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(eps, ","), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	dp, err := dataplane.New(dataplane.Options{NetNS: nsPath})
	if err != nil {
		return err
	}
	defer dp.Close()
	td := &timedDataplane{Dataplane: dp, done: make(chan programmed, 1<<12)}
	agent, err := nodeagent.New(nodeagent.Config{Node: "child", Dataplane: td})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewServiceDelivery(cli, "/bench/services/")
	go d.Run(ctx)
	go agent.Run(ctx, d)
	for p := range td.done {
		if p.full {
			break
		}
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	fmt.Printf("rss %.1f hwm %.1f\n", statusMiB(string(status), "VmRSS:"), statusMiB(string(status), "VmHWM:"))
	go func() {
		for range td.done { // later batches: nobody times them
		}
	}()
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// statusMiB reads a "Field:   1234 kB" line of /proc/self/status, in MiB.
func statusMiB(status, field string) float64 {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}
