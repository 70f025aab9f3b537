package node

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/svcnet/svcnet/dataplane"
)

// Main runs the proxy's command line: it parses args, then syncs, runs,
// cleans up or prints a dry run, and returns the exit code (0 success,
// 1 failure, 2 usage). Output goes to stdout, logs to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := ParseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "proxy:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := run(ctx, cfg, stdout, log); err != nil {
		log.Error("proxy failed", "err", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, cfg Config, stdout io.Writer, log *slog.Logger) error {
	if cfg.DryRun {
		p, err := New(cfg, Options{Log: log})
		if err != nil {
			return err
		}
		return p.DryRun(stdout)
	}
	prog, err := NewDataplane(cfg, log)
	if err != nil {
		return err
	}
	defer prog.Close()
	if cfg.Cleanup {
		return prog.Cleanup(ctx)
	}
	p, err := New(cfg, Options{Log: log, Programmer: prog})
	if err != nil {
		return err
	}
	if cfg.Once {
		if err := p.Sync(ctx); err != nil {
			return err
		}
		printAssigned(stdout, p.Services())
		return nil
	}
	return p.Run(ctx)
}

// DryRun loads and allocates without touching the kernel or the state
// file, and prints the problems, the nftables ruleset and the DNS records.
func (n *Proxy) DryRun(w io.Writer) error {
	views, problems, err := n.Build()
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(w, "# rejected: %v\n", p)
	}
	rules, err := dataplane.Render(dataplaneOptions(&n.cfg, nil), ServicePorts(views, n.cfg.NodeName))
	if err != nil {
		return err
	}
	zone := NewZone(n.cfg.Zone, recordTTL, n.cfg.PodRecords)
	n.mu.Lock()
	pods := n.pods
	n.mu.Unlock()
	for _, err := range zone.Update(views, pods) {
		fmt.Fprintf(w, "# rejected: %v\n", err)
	}
	fmt.Fprintf(w, "# nftables ruleset\n%s\n# DNS records (zone %s)\n%s", rules, n.cfg.Zone, zone)
	return nil
}

// printAssigned prints, per service, the addresses and ports --once
// assigned: what a user otherwise digs out of the state file.
func printAssigned(w io.Writer, views []ServiceView) {
	for i := range views {
		v := &views[i]
		fmt.Fprintf(w, "%s/%s %s", v.Namespace, v.Name, v.Type)
		for _, ip := range v.ClusterIPs {
			fmt.Fprintf(w, " clusterIP=%s", ip)
		}
		for _, p := range v.Ports {
			if p.NodePort != 0 {
				fmt.Fprintf(w, " %s/%d:nodePort=%d", p.Protocol, p.Port, p.NodePort)
			}
		}
		for _, ip := range v.LoadBalancerIPs {
			fmt.Fprintf(w, " loadBalancer=%s", ip)
		}
		if v.HealthCheckNodePort != 0 {
			fmt.Fprintf(w, " healthCheckNodePort=%d", v.HealthCheckNodePort)
		}
		fmt.Fprintln(w)
	}
}
