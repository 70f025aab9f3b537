package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

// DryRun loads and resolves the manifests as the proxy would, reading but
// never writing the state file, and prints to w what it refused, the
// nftables ruleset it would program and the DNS records it would serve.
// It touches neither the kernel nor the state file.
func DryRun(cfg Config, w io.Writer) error {
	p, err := newProxy(cfg, false)
	if err != nil {
		return err
	}
	st, err := p.Resolve()
	if st == nil {
		return err
	}
	printRefused(w, err)
	var sps []dataplane.ServicePort
	for i := range st.Services {
		sps = nodeagent.AppendServicePorts(sps, st.Services[i], p.cfg.Node, p.cfg.NodeZone)
	}
	rules, err := dataplane.Render(p.cfg.dataplaneOptions(), sps)
	printRefused(w, err)
	fmt.Fprintf(w, "# nftables ruleset\n%s\n# DNS records (zone %s)\n", rules, p.cfg.DNSZone)
	opts := dnsname.CatalogOptions{Zone: p.cfg.DNSZone, PodRecords: p.cfg.PodRecords}
	for i := range st.Services {
		recs, err := dnsname.RecordSet(nodeagent.DNSService(st.Services[i]), opts)
		printRefused(w, err)
		for _, r := range recs {
			fmt.Fprintln(w, r)
		}
	}
	return nil
}

// printRefused prints each refusal err joins as a comment line.
func printRefused(w io.Writer, err error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			printRefused(w, e)
		}
		return
	}
	fmt.Fprintf(w, "# refused: %v\n", err)
}

// Once resolves the manifests (persisting the allocations), programs the
// kernel once, and prints to w every service with the addresses and ports
// it was given. The rules stay. Services refused are printed as comments;
// the error is for a failure that left the kernel unprogrammed.
func Once(ctx context.Context, cfg Config, w io.Writer) error {
	p, err := New(cfg)
	if err != nil {
		return err
	}
	st, rerr := p.Resolve()
	if st == nil {
		return rerr
	}
	dp, err := dataplane.New(p.cfg.dataplaneOptions())
	if err != nil {
		return fmt.Errorf("dataplane in netns %q: %w", p.cfg.NetNS, err)
	}
	defer dp.Close()
	agent, err := nodeagent.New(nodeagent.Config{Node: p.cfg.Node, Zone: p.cfg.NodeZone, Dataplane: dp, Logger: p.log})
	if err != nil {
		return err
	}
	aerr := agent.Apply(ctx, st)
	var se *nodeagent.SyncError
	if aerr != nil && !errors.As(aerr, &se) {
		return aerr
	}
	printRefused(w, rerr)
	printRefused(w, aerr)
	if h := p.cp.Health(); h.PersistErr != nil {
		return fmt.Errorf("allocations not persisted: %w", h.PersistErr)
	}
	PrintAssigned(w, st)
	return nil
}

// PrintAssigned prints one line per service of st with what it was given:
// "ns/name Type clusterIP=… PROTO/port:nodePort=… loadBalancer=…
// healthCheckNodePort=…", what a user otherwise digs out of the state file.
func PrintAssigned(w io.Writer, st *resolved.State) {
	for i := range st.Services {
		s := st.Services[i]
		fmt.Fprintf(w, "%s/%s %s", s.Namespace, s.Name, s.Type)
		for _, ip := range s.ClusterIPs {
			fmt.Fprintf(w, " clusterIP=%s", ip)
		}
		for _, p := range s.Ports {
			if p.NodePort != 0 {
				fmt.Fprintf(w, " %s/%d:nodePort=%d", p.Protocol, p.Port, p.NodePort)
			}
		}
		for _, ip := range s.LoadBalancerIPs {
			fmt.Fprintf(w, " loadBalancer=%s", ip)
		}
		if s.HealthCheckNodePort != 0 {
			fmt.Fprintf(w, " healthCheckNodePort=%d", s.HealthCheckNodePort)
		}
		fmt.Fprintln(w)
	}
}

// Cleanup removes the proxy's nftables table from cfg's namespace, and
// nothing else.
func Cleanup(ctx context.Context, cfg Config) error {
	cfg = cfg.filled() // no manifests needed
	dp, err := dataplane.New(cfg.dataplaneOptions())
	if err != nil {
		return fmt.Errorf("dataplane in netns %q: %w", cfg.NetNS, err)
	}
	defer dp.Close()
	return dp.Cleanup(ctx)
}
