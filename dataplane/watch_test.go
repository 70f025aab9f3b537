package dataplane

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// watcher runs d.Watch until the test ends and hands out its repairs.
type watcher struct {
	reps chan Repair
}

func startWatch(t *testing.T, d *Dataplane, ns string) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{reps: make(chan Repair, 64)}
	errc := make(chan error, 1)
	go func() { errc <- d.Watch(ctx, func(r Repair) { w.reps <- r }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v; want context.Canceled", err)
		}
	})
	// Watch subscribes in its own goroutine: a foreign rule, repeated until
	// it is repaired, proves it listens before the test's real damage.
	for i := 0; ; i++ {
		if out, err := nftIn(t, ns, "add", "rule", "inet", d.opts.table(), "services", "counter"); err != nil {
			t.Fatalf("nft add rule: %v\n%s", err, out)
		}
		if _, ok := w.next(200 * time.Millisecond); ok {
			return w
		}
		if i == 50 {
			t.Fatal("Watch never repaired a foreign rule")
		}
	}
}

// next waits for the next repair; the bound only keeps a broken Watch
// from hanging the test.
func (w *watcher) next(bound time.Duration) (Repair, bool) {
	select {
	case r := <-w.reps:
		return r, true
	case <-time.After(bound):
		return Repair{}, false
	}
}

// TestKernelWatchRepairs: each kind of outside damage to our table is
// noticed and repaired (the kernel equals Render again), and a foreign
// table in the same namespace is neither repaired nor touched.
func TestKernelWatchRepairs(t *testing.T) {
	o := Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
	d, ns := kernelDataplane(t, o)
	svcs := []ServicePort{web(3), dns(), local()}
	if _, err := d.Sync(context.Background(), svcs); err != nil {
		t.Fatal(err)
	}
	foreign := "table ip foreign {\n\tchain c {\n\t\ttype filter hook input priority 0; policy accept;\n\t\tcounter\n\t}\n}\n"
	if out, err := nftStdin(t, ns, foreign, "-f", "-"); err != nil {
		t.Fatalf("nft -f foreign table: %v\n%s", err, out)
	}
	listForeign := func() string {
		out, err := nftIn(t, ns, "list", "table", "ip", "foreign")
		if err != nil {
			t.Fatalf("nft list table ip foreign: %v\n%s", err, out)
		}
		return out
	}
	before := listForeign()
	w := startWatch(t, d, ns)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"table deleted", []string{"delete", "table", "inet", "svcnet"}, "deleted"},
		{"chain flushed", []string{"flush", "chain", "inet", "svcnet", "services"}, "rule deleted"},
		{"element removed", []string{"delete", "element", "inet", "svcnet", "service-ips4", "{ 10.96.0.53 . udp . 53 }"}, "element deleted"},
		{"foreign rule added", []string{"add", "rule", "inet", "svcnet", "nat-prerouting", "accept"}, "rule added"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A change to the foreign table first: were it taken for
			// damage, its repair would come before ours.
			if out, err := nftIn(t, ns, "add", "rule", "ip", "foreign", "c", "counter"); err != nil {
				t.Fatalf("nft: %v\n%s", err, out)
			}
			if out, err := nftIn(t, ns, tc.args...); err != nil {
				t.Fatalf("nft %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
			r, ok := w.next(10 * time.Second)
			if !ok {
				t.Fatal("no repair")
			}
			if r.Err != nil || !r.Stats.Full || !strings.Contains(r.Reason, tc.want) {
				t.Errorf("repair %+v; want a full sync for %q without error", r, tc.want)
			}
			assertKernel(t, d, o, svcs)
		})
	}
	after := listForeign()
	if strings.Count(after, "counter") != strings.Count(before, "counter")+4 || !strings.Contains(after, "hook input priority filter") {
		t.Errorf("the foreign table changed beyond its own edits:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	select {
	case r := <-w.reps:
		t.Errorf("a repair nobody caused: %+v", r)
	default:
	}
	// Our own syncs are not damage.
	svcs[1].Endpoints = svcs[1].Endpoints[:1]
	if _, err := d.Sync(context.Background(), svcs); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Update(context.Background(), svcs[:1], nil); err != nil {
		t.Fatal(err)
	}
	// Events arrive in order: were our own syncs taken for damage, their
	// repair would come before this one.
	if out, err := nftIn(t, ns, "delete", "element", "inet", "svcnet", "service-ips4", "{ 10.96.0.10 . tcp . 80 }"); err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	if r, ok := w.next(10 * time.Second); !ok || !strings.Contains(r.Reason, "element deleted") {
		t.Errorf("first repair after our own syncs: %+v (%v); want the element deleted afterwards", r, ok)
	}
	assertKernel(t, d, o, svcs)
}
