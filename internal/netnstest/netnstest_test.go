package netnstest_test

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/svcnet/svcnet/internal/netnstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestWorld checks every path the dataplane tests rely on, without any
// dataplane: pods reach each other directly, the external namespace
// reaches pods through the node's forwarding, both families work at once,
// and a closed port is refused rather than timing out.
func TestWorld(t *testing.T) {
	w := netnstest.NewWorld(t)
	web := w.AddPod(t, "web")
	web.Serve(t, 8080)
	ctx := context.Background()

	tests := []struct {
		name    string
		from    *netnstest.NS
		network string
		dst     netip.AddrPort
		src     netip.Addr // the source the backend must see
	}{
		{"client to pod tcp4", w.Client.NS, "tcp", netip.AddrPortFrom(web.IPv4, 8080), w.Client.IPv4},
		{"client to pod udp4", w.Client.NS, "udp", netip.AddrPortFrom(web.IPv4, 8080), w.Client.IPv4},
		{"client to pod tcp6", w.Client.NS, "tcp", netip.AddrPortFrom(web.IPv6, 8080), w.Client.IPv6},
		{"client to pod udp6", w.Client.NS, "udp", netip.AddrPortFrom(web.IPv6, 8080), w.Client.IPv6},
		{"external to pod tcp4", w.External, "tcp", netip.AddrPortFrom(web.IPv4, 8080), w.ExternalIPv4[0]},
		{"external to pod udp6", w.External, "udp", netip.AddrPortFrom(web.IPv6, 8080), w.ExternalIPv6[0]},
		{"node to pod tcp4", w.Node, "tcp", netip.AddrPortFrom(web.IPv4, 8080), web.GatewayIPv4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.from.Ask(ctx, tt.network, tt.dst)
			if err != nil {
				t.Fatalf("Ask(%s, %v) error: %v", tt.network, tt.dst, err)
			}
			if r.Backend != "web" || r.Source.Addr() != tt.src {
				t.Errorf("Ask(%s, %v) = %s from %v; want web from %v", tt.network, tt.dst, r.Backend, r.Source.Addr(), tt.src)
			}
		})
	}

	t.Run("chosen source", func(t *testing.T) {
		for _, src := range []netip.Addr{w.ExternalIPv4[1], w.ExternalIPv6[1]} {
			r, err := w.External.AskFrom(ctx, "tcp", src, netip.AddrPortFrom(web.Addr(src), 8080))
			if err != nil {
				t.Fatal(err)
			}
			if r.Source.Addr() != src {
				t.Errorf("AskFrom(%v) seen from %v; want %v", src, r.Source.Addr(), src)
			}
		}
	})

	t.Run("default source towards the node", func(t *testing.T) {
		// On-link destinations skip the default route's src hint: the
		// first address must win by itself.
		w.Node.IP(t, "addr", "add", "192.168.100.9/24", "dev", "ext0")
		for _, tt := range []struct{ dst, want netip.Addr }{
			{netip.MustParseAddr("192.168.100.9"), w.ExternalIPv4[0]},
			{w.NodeIPv6, w.ExternalIPv6[0]},
		} {
			out := w.External.IP(t, "route", "get", tt.dst.String())
			if !strings.Contains(out, " src "+tt.want.String()+" ") {
				t.Errorf("route to %v from external = %q; want src %v", tt.dst, out, tt.want)
			}
		}
	})

	t.Run("secondary address", func(t *testing.T) {
		src := w.Client.AddIPv4(t)
		r, err := w.Client.NS.AskFrom(ctx, "udp", src, netip.AddrPortFrom(web.IPv4, 8080))
		if err != nil {
			t.Fatal(err)
		}
		if r.Source.Addr() != src {
			t.Errorf("AskFrom(%v) seen from %v; want %v", src, r.Source.Addr(), src)
		}
	})

	for _, network := range []string{"tcp", "udp"} {
		t.Run("closed port refused "+network, func(t *testing.T) {
			start := time.Now()
			_, err := w.Client.NS.Ask(ctx, network, netip.AddrPortFrom(web.IPv4, 9))
			if !errors.Is(err, netnstest.ErrRefused) {
				t.Fatalf("Ask(%s, closed port) error = %v; want ErrRefused", network, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("refusal took %v; want well under the timeout", d)
			}
		})
	}

	t.Run("unknown destination is a timeout", func(t *testing.T) {
		// The node forwards unknown destinations upstream to the external
		// namespace, which does not forward and drops them silently.
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := w.Client.NS.Ask(ctx, "udp", netip.MustParseAddrPort("203.0.113.7:80"))
		if !errors.Is(err, netnstest.ErrTimeout) {
			t.Fatalf("Ask(udp, unknown destination) error = %v; want ErrTimeout", err)
		}
	})

	t.Run("tally", func(t *testing.T) {
		got, err := w.Client.NS.Tally(ctx, "udp", netip.AddrPortFrom(web.IPv4, 8080), 20)
		if err != nil {
			t.Fatal(err)
		}
		if got["web"] != 20 || len(got) != 1 {
			t.Errorf("Tally = %v; want map[web:20]", got)
		}
	})
}

// TestForwardingOnlyInNode pins that the world leaves the root namespace's
// forwarding as it found it and turns it on in the node only.
func TestForwardingOnlyInNode(t *testing.T) {
	w := netnstest.NewWorld(t)
	for _, tt := range []struct {
		ns   *netnstest.NS
		want string
	}{{w.Node, "1"}, {w.External, "0"}, {w.Client.NS, "0"}} {
		out, err := tt.ns.Exec("cat", "/proc/sys/net/ipv4/ip_forward")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out); got != tt.want {
			t.Errorf("%s ip_forward = %s; want %s", tt.ns.Name(), got, tt.want)
		}
	}
}

// TestCleanup builds a world in a subtest, which runs its cleanups when it
// ends, and checks that no namespace of it is left.
func TestCleanup(t *testing.T) {
	netnstest.Require(t)
	var names []string
	t.Run("world", func(t *testing.T) {
		w := netnstest.NewWorld(t)
		p := w.AddPod(t, "web")
		p.Serve(t, 80)
		for _, ns := range []*netnstest.NS{w.Node, w.External, w.Client.NS, p.NS} {
			if !netnstest.Exists(ns.Name()) {
				t.Fatalf("namespace %s missing while the world is up", ns.Name())
			}
			names = append(names, ns.Name())
		}
		_ = w.Node.Handle(t)
	})
	if len(names) != 4 {
		t.Fatalf("world saw %d namespaces; want 4", len(names))
	}
	for _, name := range names {
		if netnstest.Exists(name) {
			t.Errorf("namespace %s still exists after cleanup", name)
		}
	}
}

// TestRequireFailsInCI runs Require with CI set on a recorder that cannot
// pass: as root it must not skip, and without privileges it must fail.
func TestRequireFailsInCI(t *testing.T) {
	t.Setenv("CI", "true")
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		netnstest.Require(rec)
	}()
	<-done
	if rec.skipped {
		t.Errorf("Require skipped with CI set")
	}
}

// recorder turns Skip and Fatal into records so that Require can be
// observed; runtime.Goexit from FailNow/SkipNow ends only its goroutine.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Skipf(string, ...any)  { r.skipped = true; runtime.Goexit() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
func (r *recorder) Helper()               {}
