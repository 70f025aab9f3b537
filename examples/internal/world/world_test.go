package world

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func addrPort(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

func TestMain(m *testing.M) { RunTests(m) }

// TestWorldRoutes: every pod answers the client through the node, and the
// external host reaches a pod through it too.
func TestWorldRoutes(t *testing.T) {
	w, err := New(8080, "pod1", "pod2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	for name, p := range w.Pods {
		r, err := w.Client.NS.Ask(ctx, "tcp", addrPort(p.IPv4, 8080))
		if err != nil || r.Backend != name {
			t.Errorf("client → %s: %+v, %v; want %s", name, r, err, name)
		}
		if r, err := w.External.Ask(ctx, "udp", addrPort(p.IPv4, 8080)); err != nil || r.Backend != name {
			t.Errorf("external → %s: %+v, %v; want %s", name, r, err, name)
		}
	}
}

// TestProgramFailure: a netnstest failure inside New is returned as an
// error, and what was made before it is removed.
func TestProgramFailure(t *testing.T) {
	p := &program{}
	cleaned := false
	err := p.do(func(t testing.TB) {
		t.Cleanup(func() { cleaned = true })
		t.Fatalf("boom %d", 1)
		t.Error("not reached")
	})
	if err == nil || err.Error() != "boom 1" {
		t.Errorf("do = %v; want boom 1", err)
	}
	if p.close(); !cleaned {
		t.Error("close did not run the cleanup")
	}
	err = (&program{}).do(func(t testing.TB) { t.Skipf("no %s", "namespaces") })
	if !errors.Is(err, ErrNoNamespaces) {
		t.Errorf("a skip = %v; want ErrNoNamespaces", err)
	}
}
