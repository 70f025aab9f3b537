package world

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main is the whole main function of a demo program named name (as in
// "go run ./examples/<name>"): -h prints usage without building anything,
// Enter moves the process into namespaces of its own, and run gets at most
// 90 s and is stopped by SIGINT or SIGTERM. It exits the process.
func Main(name, usage string, run func(ctx context.Context, stdout, stderr io.Writer) error) {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./examples/%s\n\n%s", name, usage)
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	code, err := Enter()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	if code >= 0 {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	err = run(ctx, os.Stdout, os.Stderr)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s failed: %v\n", name, err)
		os.Exit(1)
	}
}
