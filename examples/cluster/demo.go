package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/svcnet/svcnet/resolved"
)

// Run is the demo: it builds the cluster, shows each step, checks it, and
// removes everything.
func Run(ctx context.Context, out, logw io.Writer) (err error) {
	start := time.Now()
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := Start(ctx, log, servicesYAML)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintf(out, "\ncleaned up: namespaces and etcd removed; done in %.1fs\n", time.Since(start).Seconds())
		}
	}()
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	a, b := c.Nodes[0], c.Nodes[1]
	say("svcnet cluster: etcd at %s; controller-1 leads, controller-2 stands by (lease %v)", c.Etcd.Endpoint(), ttl)
	say("node-a (%s) and node-b (%s) each run a proxy following etcd, with DNS on %s and %s; pods pod-b1, pod-b2 on node-b\n",
		a.LinkIP, b.LinkIP, a.Gateway, b.Gateway)

	web, err := c.Agreed("web")
	if err != nil {
		return err
	}
	say("1. controller-1 gave web ClusterIP %s; node-a and node-b both programmed it", web.ClusterIPs[0])
	got, err := lookup(ctx, c.Client, a.Gateway, "web.default.svc.cluster.local")
	if err != nil {
		return err
	}
	if got != web.ClusterIPs[0] {
		return fmt.Errorf("node-a's DNS answered %s for web; want %s", got, web.ClusterIPs[0])
	}
	say("2. the client on node-a asks node-a's DNS: web.default.svc.cluster.local. A %s", got)
	counts, err := spread(ctx, c.Client, netip.AddrPortFrom(got, 80), 10)
	if err != nil {
		return err
	}
	if counts["pod-b1"]+counts["pod-b2"] != 10 {
		return fmt.Errorf("answers %v; want all 10 from node-b's pods", counts)
	}
	say("3. 10 connections from node-a's client to %s:80 crossed to node-b: pod-b1 %d, pod-b2 %d", got, counts["pod-b1"], counts["pod-b2"])

	return c.takeover(ctx, say, web)
}

// takeover kills the leading controller and shows the standby give a new
// Service an address that both nodes program.
func (c *Cluster) takeover(ctx context.Context, say func(string, ...any), web resolved.Service) error {
	leader := c.Leader()
	if leader == nil {
		return errors.New("no controller leads")
	}
	killed := time.Now()
	c.Kill(leader)
	if err := c.WriteManifest("api.yaml", serviceYAML("api", "ClusterIP")); err != nil {
		return err
	}
	var standby *controller
	if err := waitUntil(ctx, 4*ttl, "the standby to lead", func() bool { standby = c.Leader(); return standby != nil }); err != nil {
		return err
	}
	led := time.Since(killed)
	api, err := c.Agreed("api")
	if err != nil {
		return err
	}
	programmed := time.Since(killed)
	if api.ClusterIPs[0] == web.ClusterIPs[0] {
		return fmt.Errorf("api got web's ClusterIP %s", api.ClusterIPs[0])
	}
	if w, _ := c.Agreed("web"); w.ClusterIPs[0] != web.ClusterIPs[0] {
		return fmt.Errorf("web moved from %s to %s across the takeover", web.ClusterIPs[0], w.ClusterIPs[0])
	}
	pod, err := c.Client.ask(ctx, netip.AddrPortFrom(api.ClusterIPs[0], 80))
	if err != nil {
		return err
	}
	say("4. %s killed (cut off, no resign); %s led %.1fs later (lease %v)", leader.Name, standby.Name, led.Seconds(), ttl)
	say("5. new Service api got ClusterIP %s from %s, on both nodes %.1fs after the kill; web kept %s", api.ClusterIPs[0], standby.Name, programmed.Seconds(), web.ClusterIPs[0])
	say("6. node-a's client reached api at %s:80: answered by %s on node-b", api.ClusterIPs[0], pod)
	return nil
}

// Agreed waits until every node serves the named Service (in namespace
// default) with the same addresses and node ports, and returns it.
func (c *Cluster) Agreed(name string) (resolved.Service, error) {
	var svc resolved.Service
	err := c.WaitNodes(name+" on every node, the same", func(st *resolved.State) bool {
		s, ok := find(st, name)
		if !ok || len(s.ClusterIPs) == 0 {
			return false
		}
		if svc.Name == "" {
			svc = s
			return true
		}
		return sameAddresses(svc, s)
	})
	if err != nil {
		return resolved.Service{}, err
	}
	return svc, nil
}

func find(st *resolved.State, name string) (resolved.Service, bool) {
	for _, s := range st.Services {
		if s.Namespace == "default" && s.Name == name {
			return *s, true
		}
	}
	return resolved.Service{}, false
}

// sameAddresses reports whether two nodes' copies of a Service agree on
// every address and port a client may use.
func sameAddresses(x, y resolved.Service) bool {
	if fmt.Sprint(x.ClusterIPs, x.LoadBalancerIPs, x.HealthCheckNodePort) != fmt.Sprint(y.ClusterIPs, y.LoadBalancerIPs, y.HealthCheckNodePort) ||
		len(x.Ports) != len(y.Ports) {
		return false
	}
	for i := range x.Ports {
		if x.Ports[i] != y.Ports[i] {
			return false
		}
	}
	return true
}

// lookup asks the DNS server at server:53 from inside h for name's A record.
func lookup(ctx context.Context, h *host, server netip.Addr, name string) (netip.Addr, error) {
	var conn net.Conn
	err := inNS(h.ns, func() (err error) {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "udp", netip.AddrPortFrom(server, 53).String())
		return err
	})
	if err != nil {
		return netip.Addr{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	co := &dns.Conn{Conn: conn}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeA)
	if err := co.WriteMsg(q); err != nil {
		return netip.Addr{}, err
	}
	r, err := co.ReadMsg()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("dns %s at %s: %w", name, server, err)
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			addr, _ := netip.AddrFromSlice(a.A.To4())
			return addr, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("dns %s at %s: no A record (rcode %s)", name, server, dns.RcodeToString[r.Rcode])
}

// spread opens n connections from h to dst and counts answers by pod.
func spread(ctx context.Context, h *host, dst netip.AddrPort, n int) (map[string]int, error) {
	counts := map[string]int{}
	for i := range n {
		pod, err := h.ask(ctx, dst)
		if err != nil {
			return counts, fmt.Errorf("connection %d: %w", i+1, err)
		}
		counts[pod]++
	}
	return counts, nil
}
