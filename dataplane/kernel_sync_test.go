package dataplane

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func kernelDataplane(t *testing.T, o Options) (*Dataplane, string) {
	t.Helper()
	o.NetNS = scratchNS(t)
	d, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, o.NetNS
}

func assertKernel(t *testing.T, d *Dataplane, o Options, svcs []ServicePort) {
	t.Helper()
	want, err := build(&o, svcs)
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	diffs, err := diffKernel(d.conn, want)
	d.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	for _, df := range diffs {
		t.Error(df)
	}
}

// TestKernelReadBack syncs every golden case into a fresh namespace and
// checks that what the kernel holds is exactly what was rendered, then that
// `nft list ruleset` (what operators run) succeeds on it.
func TestKernelReadBack(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			d, ns := kernelDataplane(t, tc.opts)
			if _, err := d.Sync(context.Background(), tc.svcs); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			o := tc.opts
			assertKernel(t, d, o, tc.svcs)
			out, err := nftIn(t, ns, "list", "ruleset")
			if err != nil {
				t.Fatalf("nft list ruleset: %v\n%s", err, out)
			}
			if !strings.Contains(out, "table inet "+o.table()) {
				t.Errorf("nft list ruleset does not show our table:\n%s", out)
			}
		})
	}
}

// TestKernelIncremental walks a sequence of changes through incremental
// syncs and checks after each one that the kernel equals a fresh rendering.
func TestKernelIncremental(t *testing.T) {
	o := Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
	d, _ := kernelDataplane(t, o)
	svcs := []ServicePort{web(3), dns()}
	steps := []struct {
		name   string
		change func()
	}{
		{"initial", func() {}},
		{"remove an endpoint", func() { svcs[0].Endpoints = svcs[0].Endpoints[1:] }},
		{"add endpoints", func() { svcs[0].Endpoints = web(5).Endpoints }},
		{"no endpoints", func() { svcs[1].Endpoints = nil }},
		{"add a service", func() { svcs = append(svcs, local()) }},
		{"local policy", func() { svcs[0].ExternalPolicy = PolicyLocal }},
		{"affinity", func() { svcs[0].AffinityTimeout = 30 * time.Second }},
		{"affinity endpoint removed", func() { svcs[0].Endpoints = svcs[0].Endpoints[1:] }},
		{"affinity off", func() { svcs[0].AffinityTimeout = 0 }},
		{"remove a service", func() { svcs = svcs[1:] }},
		{"empty", func() { svcs = nil }},
	}
	for _, st := range steps {
		st.change()
		if _, err := d.Sync(context.Background(), svcs); err != nil {
			t.Fatalf("%s: Sync: %v", st.name, err)
		}
		t.Run(st.name, func(t *testing.T) { assertKernel(t, d, o, svcs) })
	}
}

// TestKernelUpdate drives partial changes through Update and checks after
// each that the kernel equals a fresh rendering of the whole input, and
// that a Sync of that input afterwards changes nothing.
func TestKernelUpdate(t *testing.T) {
	o := Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
	d, _ := kernelDataplane(t, o)
	ctx := context.Background()
	if _, err := d.Update(ctx, []ServicePort{web(1)}, nil); !errors.Is(err, ErrNeedSync) {
		t.Fatalf("Update before Sync = %v; want ErrNeedSync", err)
	}
	all := map[Key]ServicePort{}
	input := func() []ServicePort {
		var out []ServicePort
		for _, sp := range all {
			out = append(out, sp)
		}
		return out
	}
	for _, sp := range []ServicePort{web(3), dns()} {
		all[sp.Key()] = sp
	}
	if _, err := d.Sync(ctx, input()); err != nil {
		t.Fatal(err)
	}
	aff := web(2)
	aff.AffinityTimeout = 30 * time.Second
	gone := dns()
	steps := []struct {
		name   string
		upsert []ServicePort
		remove []Key
	}{
		{"add a service", []ServicePort{local()}, nil},
		{"change endpoints", []ServicePort{web(5)}, nil},
		{"affinity", []ServicePort{aff}, nil},
		{"remove one, change another", []ServicePort{web(1)}, []Key{gone.Key()}},
		{"remove a missing one", nil, []Key{gone.Key()}},
		{"unchanged", []ServicePort{web(1)}, nil},
	}
	for _, st := range steps {
		if _, err := d.Update(ctx, st.upsert, st.remove); err != nil {
			t.Fatalf("%s: Update: %v", st.name, err)
		}
		for _, sp := range st.upsert {
			all[sp.Key()] = sp
		}
		for _, k := range st.remove {
			delete(all, k)
		}
		t.Run(st.name, func(t *testing.T) { assertKernel(t, d, o, input()) })
	}
	dup := web(1)
	if _, err := d.Update(ctx, []ServicePort{web(2)}, []Key{dup.Key()}); !errors.Is(err, ErrConflict) {
		t.Errorf("Update of a service also removed = %v; want ErrConflict", err)
	}
	// A call refused whole changes nothing: the kernel still holds the
	// input, and Update goes on incrementally.
	assertKernel(t, d, o, input())
	if stats, err := d.Update(ctx, nil, nil); err != nil || stats.Full {
		t.Errorf("Update after a refused Update = %+v, %v; want an incremental one", stats, err)
	}
	if _, err := d.Sync(ctx, input()); err != nil {
		t.Fatal(err)
	}
	assertKernel(t, d, o, input())
}

// TestKernelAdopt: a second Dataplane on the same namespace replaces what
// the first left, and Cleanup removes our table and nothing else.
func TestKernelAdopt(t *testing.T) {
	o := Options{}
	d, ns := kernelDataplane(t, o)
	if _, err := d.Sync(context.Background(), []ServicePort{web(2), dns()}); err != nil {
		t.Fatal(err)
	}
	if out, err := nftIn(t, ns, "add", "table", "inet", "other"); err != nil {
		t.Fatalf("nft add table: %v %s", err, out)
	}
	o.NetNS = ns
	d2, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	svcs := []ServicePort{web(3)}
	if _, err := d2.Sync(context.Background(), svcs); err != nil {
		t.Fatalf("adopting Sync: %v", err)
	}
	assertKernel(t, d2, o, svcs)
	if err := d2.Cleanup(context.Background()); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	out, err := nftIn(t, ns, "list", "tables")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "table inet other" {
		t.Errorf("after Cleanup, nft list tables = %q; want only %q", out, "table inet other")
	}
	if err := d2.Cleanup(context.Background()); err != nil {
		t.Errorf("second Cleanup: %v", err)
	}
}

// TestKernelNftParse loads the rendering with `nft -f`. nft 1.0.6 cannot
// type-check numgen or jhash inside a concatenated map key (the kernel runs
// both, and nft lists them), and
// nft has no syntax for the affinity rules' register reuse ("$ep"), so those
// rules are checked by TestKernelReadBack instead and left out here;
// everything else must parse and load.
func TestKernelNftParse(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			ns := scratchNS(t)
			text, err := Render(tc.opts, tc.svcs)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, l := range strings.Split(text, "\n") {
				if !strings.Contains(l, "numgen random mod") && !strings.Contains(l, "jhash") && !strings.Contains(l, "$ep") {
					kept = append(kept, l)
				}
			}
			out, err := nftStdin(t, ns, strings.Join(kept, "\n"), "-f", "-")
			if err != nil {
				t.Fatalf("nft -f: %v\n%s", err, out)
			}
			if out, err := nftIn(t, ns, "list", "ruleset"); err != nil {
				t.Fatalf("nft list ruleset: %v\n%s", err, out)
			}
		})
	}
}

// TestKernelStats: Sync and Update report what they sent.
func TestKernelStats(t *testing.T) {
	o := Options{}
	d, _ := kernelDataplane(t, o)
	ctx := context.Background()
	svcs := []ServicePort{web(3), dns()}
	st, err := d.Sync(ctx, svcs)
	want, _ := build(&o, svcs)
	total := 0
	for _, s := range want.sets {
		total += len(s.elems)
	}
	if err != nil || !st.Full || st.ElementsAdded != total || st.ElementsRemoved != 0 || st.Batches != 1 ||
		st.Messages == 0 || st.Bytes == 0 || st.Duration <= 0 {
		t.Errorf("first Sync: %+v, %v; want full, %d elements added, one batch", st, err, total)
	}
	// One endpoint of dns replaced: its two map elements (ClusterIP slot,
	// hairpin) go and come back changed.
	svcs[1].Endpoints = []Endpoint{ep("10.244.1.53:53"), ep("10.244.3.53:53")}
	st, err = d.Update(ctx, svcs[1:], nil)
	if err != nil || st.Full || st.ElementsAdded != 2 || st.ElementsRemoved != 2 || st.Batches != 1 {
		t.Errorf("Update of one endpoint: %+v, %v; want incremental, 2 added, 2 removed, one batch", st, err)
	}
	if st, err = d.Sync(ctx, svcs); err != nil || st.Full || st.ElementsAdded+st.ElementsRemoved != 0 {
		t.Errorf("Sync of an unchanged input: %+v, %v; want nothing sent", st, err)
	}
}

// TestKernelScale: 10,000 services cold, then 1,000 random endpoint
// changes each through Update (one service port at a time, as a node agent
// feeds them); the kernel then holds exactly the rendering of the final
// input, read back element by element.
func TestKernelScale(t *testing.T) {
	o := Options{}
	d, _ := kernelDataplane(t, o)
	ctx := context.Background()
	svcs := benchServices(10000, 3)
	if _, err := d.Sync(ctx, svcs); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 13))
	for i := range 1000 {
		sp := &svcs[rng.IntN(len(svcs))]
		eps := slices.Clone(sp.Endpoints)
		switch k := rng.IntN(3); {
		case k == 0 && len(eps) > 0:
			eps = slices.Delete(eps, 0, 1)
		case k == 1:
			eps = append(eps, Endpoint{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 245, byte(i >> 8), byte(i)}), 8080)})
		case len(eps) > 0:
			eps[0].Addr = netip.AddrPortFrom(eps[0].Addr.Addr(), uint16(20000+i))
		}
		sp.Endpoints = eps
		if st, err := d.Update(ctx, []ServicePort{*sp}, nil); err != nil || st.Full {
			t.Fatalf("change %d: Update = %+v, %v; want an incremental update", i, st, err)
		}
	}
	assertKernel(t, d, o, svcs)
}

// TestKernelBatchLargerThanSocketBuffer: a full sync whose batch is many
// times the socket's send buffer goes out as one batch, and such a batch
// is atomic: one message the kernel refuses at its very end leaves the
// kernel's table exactly as it was, every earlier message undone.
func TestKernelBatchLargerThanSocketBuffer(t *testing.T) {
	o := Options{}
	d, _ := kernelDataplane(t, o)
	ctx := context.Background()
	initial := sendBuffer(t, d)
	svcs := benchServices(3000, 3)
	st, err := d.Sync(ctx, svcs)
	if err != nil || st.Batches != 1 {
		t.Fatalf("Sync = %+v, %v; want one batch", st, err)
	}
	if len(d.b.buf) < 4*initial {
		t.Fatalf("the batch took %d bytes; want at least 4 × the send buffer's %d", len(d.b.buf), initial)
	}
	t.Logf("one batch of %d bytes; the socket's send buffer was %d", len(d.b.buf), initial)
	assertKernel(t, d, o, svcs)

	other := benchServices(4000, 2)
	next, err := newState(&d.opts)
	if err != nil {
		t.Fatal(err)
	}
	next.update(other, false)
	var stats Stats
	d.mu.Lock()
	err = d.send(d.table(), &stats, func(x *tx) error {
		if err := x.full(next); err != nil {
			return err
		}
		x.start("no-such-set", fuzzSets[0], true)
		x.add(x.b, []elem{newElem([]byte{10, 0, 0, 1}, nil)})
		return nil
	})
	size := len(d.b.buf)
	d.mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), `add elements to set "no-such-set"`) {
		t.Fatalf("a batch ending in elements of a missing set: %v; want the kernel to refuse that message", err)
	}
	if size < 4*initial {
		t.Fatalf("the refused batch took %d bytes; want at least 4 × %d", size, initial)
	}
	assertKernel(t, d, o, svcs)
	if _, err := d.Update(ctx, svcs[:1], nil); err != nil {
		t.Errorf("Update after a refused batch: %v", err)
	}
}

// sendBuffer is the send buffer of d's netlink socket.
func sendBuffer(t *testing.T, d *Dataplane) int {
	t.Helper()
	n, err := unix.GetsockoptInt(d.fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
