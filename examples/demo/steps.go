package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/svcnet/svcnet/examples/internal/proxy"
)

// demo is one run of the demo: the environment, where it prints, and what
// earlier steps found.
type demo struct {
	ctx  context.Context
	env  *Env
	out  io.Writer
	pods []string
	cip  netip.Addr // my-service's ClusterIP
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

// Run is the demo: it builds the world, shows each behaviour, checks it,
// and removes everything.
func Run(ctx context.Context, out, logw io.Writer) (err error) {
	start := time.Now()
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d := &demo{ctx: ctx, out: out, pods: []string{"pod1", "pod2", "pod3"}}
	if d.env, err = Start(ctx, log, d.pods...); err != nil {
		return err
	}
	defer func() {
		if cerr := d.env.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintf(out, "\ncleaned up: namespaces removed; done in %.1fs\n", time.Since(start).Seconds())
		}
	}()
	d.say("svcnet demo: node, %s, client and an outside host in their own network namespaces", strings.Join(d.pods, ", "))
	d.say("manifests in %s; proxy programming the node namespace, DNS on %s\n", d.env.Dir, d.env.Proxy.DNSAddr())
	for _, step := range []func() error{d.clusterIP, d.dns, d.spread, d.affinity, d.fromOutside, d.followEdits} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) clusterIP() error {
	svc, _ := d.env.Service("my-service")
	if svc == nil || len(svc.ClusterIPs) == 0 {
		return errors.New("my-service got no ClusterIP")
	}
	d.cip = svc.ClusterIPs[0]
	d.say("1. my-service was given ClusterIP %s (from %s)", d.cip, proxy.DefaultServiceCIDR)
	return nil
}

func (d *demo) dns() error {
	r, err := Query(d.env.World.Client.NS, d.env.Proxy.DNSAddr(), "my-service.default.svc.cluster.local", dns.TypeA)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != d.cip.String() {
		return fmt.Errorf("dns: my-service.default.svc.cluster.local = %v; want %s", r.Answer, d.cip)
	}
	d.say("2. DNS from the client: my-service.default.svc.cluster.local. A %s", r.Answer[0].(*dns.A).A)
	return nil
}

func (d *demo) spread() error {
	counts, err := Spread(d.ctx, d.env.World.Client.NS, netip.AddrPortFrom(d.cip, 80), 30)
	if err != nil {
		return err
	}
	d.say("3. 30 requests from the client to %s:80   %s", d.cip, fmtCounts(counts, d.pods))
	for _, p := range d.pods {
		if counts[p] == 0 {
			return fmt.Errorf("no request reached %s: %v", p, counts)
		}
	}
	return nil
}

func (d *demo) affinity() error {
	sticky, _ := d.env.Service("sticky")
	if sticky == nil || len(sticky.ClusterIPs) == 0 {
		return errors.New("sticky got no ClusterIP")
	}
	counts, err := Spread(d.ctx, d.env.World.Client.NS, netip.AddrPortFrom(sticky.ClusterIPs[0], 80), 10)
	if err != nil {
		return err
	}
	if len(counts) != 1 {
		return fmt.Errorf("ClientIP affinity: answers from %v; want one pod", counts)
	}
	for p := range counts {
		d.say("4. sessionAffinity: ClientIP on sticky (%s): 10 requests, all answered by %s", sticky.ClusterIPs[0], p)
	}
	return nil
}

func (d *demo) fromOutside() error {
	lb, _ := d.env.Service("web")
	if lb == nil || len(lb.LoadBalancerIPs) == 0 || lb.Ports[0].NodePort == 0 {
		return fmt.Errorf("web: %+v; want a LoadBalancer address and a node port", lb)
	}
	w := d.env.World
	np := netip.AddrPortFrom(w.NodeIPv4, lb.Ports[0].NodePort)
	lbAddr := netip.AddrPortFrom(lb.LoadBalancerIPs[0], 80)
	for _, target := range []struct {
		step, what string
		addr       netip.AddrPort
	}{{"5", "NodePort", np}, {"6", "LoadBalancer", lbAddr}} {
		counts, err := Spread(d.ctx, w.External, target.addr, 9)
		if err != nil {
			return fmt.Errorf("%s from outside: %w", target.what, err)
		}
		d.say("%s. from the outside host, %-12s %-20s 9 requests   %s", target.step, target.what, target.addr, fmtCounts(counts, d.pods))
	}
	return nil
}

func (d *demo) followEdits() error {
	keep := d.pods[:2]
	changed := time.Now()
	if err := d.env.WriteManifest("pods.yaml", PodsYAML(d.env.World, keep)); err != nil {
		return err
	}
	var moved time.Duration
	for {
		if v, _ := d.env.Service("my-service"); endpointsCount(v) == len(keep) {
			moved = time.Since(changed)
			break
		}
		if time.Since(changed) > 3*time.Second {
			return errors.New("pod3 still an endpoint 3s after its manifest was removed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	counts, err := Spread(d.ctx, d.env.World.Client.NS, netip.AddrPortFrom(d.cip, 80), 30)
	if err != nil {
		return err
	}
	d.say("7. pod3 removed from pods.yaml: rules updated %.0f ms later; 30 requests   %s", float64(moved.Microseconds())/1000, fmtCounts(counts, d.pods))
	if counts["pod3"] != 0 || moved > time.Second {
		return fmt.Errorf("after removing pod3: %v after %v; want no pod3 within 1s", counts, moved)
	}
	return nil
}

func fmtCounts(c map[string]int, pods []string) string {
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s %2d", p, c[p]))
	}
	return strings.Join(parts, "   ")
}
