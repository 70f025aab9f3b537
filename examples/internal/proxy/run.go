package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/dnsserver"
	"github.com/svcnet/svcnet/nodeagent"
)

// readyPoll is how often Run looks whether the node agent has synced, to
// let the DNS server answer from the catalog.
const readyPoll = 10 * time.Millisecond

// Run serves until ctx ends: the manifests watch and the control plane
// (unless Config.Delivery is set), the node agent programming the kernel
// table in Config.NetNS and the DNS catalog, the DNS server inside
// Config.NetNS and the metrics listener in the caller's namespace.
// It opens the kernel and the listeners first and returns their errors
// at once. It returns nil when ctx ends, and the first error of any part
// otherwise, always after every goroutine it started has ended; the
// kernel rules stay.
func (p *Proxy) Run(ctx context.Context) error {
	dp, err := dataplane.New(p.cfg.dataplaneOptions())
	if err != nil {
		return fmt.Errorf("dataplane in netns %q: %w (programming a namespace needs CAP_NET_ADMIN and CAP_SYS_ADMIN there)", p.cfg.NetNS, err)
	}
	defer dp.Close()
	agent, err := nodeagent.New(nodeagent.Config{Node: p.cfg.Node, Zone: p.cfg.NodeZone, Dataplane: timedDataplane{dp, p.counters.kernelSyncs}, Catalog: p.catalog, Logger: p.log})
	if err != nil {
		return err
	}
	p.agent.Store(agent)
	dns, err := p.openDNS()
	if err != nil {
		return err
	}
	ml, err := p.openMetrics()
	if err != nil {
		dns.close()
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	if p.cp != nil {
		g.Go(func() error { return ignoreDone(ctx, p.loader.Watch(ctx, p.loads.Store)) })
		g.Go(func() error { return p.cp.Run(ctx, p.src, &p.states) })
	}
	g.Go(func() error { return agent.Run(ctx, &p.rec) })
	if dns != nil {
		g.Go(func() error { return dns.srv.Serve(ctx, dns.pc, dns.l) })
		g.Go(func() error { p.markReady(ctx, agent, dns.srv); return nil })
	}
	if ml != nil {
		p.serveMetrics(ctx, g, ml)
	}
	return g.Wait()
}

// ignoreDone turns the error a part returns because ctx ended into nil.
func ignoreDone(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return err
}

// dnsServer is an opened DNS server and its sockets.
type dnsServer struct {
	srv *dnsserver.Server
	pc  net.PacketConn
	l   net.Listener
}

func (d *dnsServer) close() {
	if d != nil {
		d.pc.Close()
		d.l.Close()
	}
}

// openDNS opens the DNS sockets inside the target namespace: a socket
// keeps the namespace it was made in, so the server then runs from any
// thread. It returns nil when no DNS address is configured.
func (p *Proxy) openDNS() (*dnsServer, error) {
	if p.cfg.DNSListen == "" {
		return nil, nil
	}
	dcfg := p.cfg.DNS
	dcfg.OnAnswer = p.counters.onAnswer(dcfg.OnAnswer)
	if dcfg.Logger == nil {
		dcfg.Logger = p.log
	}
	srv, err := dnsserver.New(p.catalog, dcfg)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	d := &dnsServer{srv: srv}
	err = inNetNS(NetNSPath(p.cfg.NetNS), func() (err error) {
		d.pc, d.l, err = dnsserver.Listen(p.cfg.DNSListen)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dns listen %q in netns %q: %w", p.cfg.DNSListen, p.cfg.NetNS, err)
	}
	addr := d.pc.LocalAddr().String()
	p.dnsAddr.Store(&addr)
	p.log.Info("dns listening", "addr", addr, "netns", p.cfg.NetNS, "zone", p.cfg.DNSZone)
	return d, nil
}

// markReady lets the DNS server answer from the catalog once the node
// agent has synced it, so clients never cache an NXDOMAIN of an empty one.
func (p *Proxy) markReady(ctx context.Context, agent *nodeagent.Agent, srv *dnsserver.Server) {
	t := time.NewTicker(readyPoll)
	defer t.Stop()
	for {
		if !agent.Health().LastSync.IsZero() {
			srv.SetReady()
			p.dnsReady.Store(true)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Proxy) openMetrics() (net.Listener, error) {
	if p.cfg.MetricsListen == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", p.cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("metrics listen %q: %w", p.cfg.MetricsListen, err)
	}
	return l, nil
}

// serveMetrics serves Handler on l until ctx ends, then shuts the server
// down, waiting for requests in flight.
func (p *Proxy) serveMetrics(ctx context.Context, g *errgroup.Group, l net.Listener) {
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 5 * time.Second}
	g.Go(func() error {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("metrics: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return srv.Close()
		}
		return nil
	})
}
