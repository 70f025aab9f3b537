package dataplane

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestSlots(t *testing.T) {
	mk := func(ws ...uint32) []Endpoint {
		var eps []Endpoint
		for i, w := range ws {
			eps = append(eps, Endpoint{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 80), Weight: w})
		}
		return eps
	}
	tests := []struct {
		name string
		eps  []Endpoint
		bal  Balancing
		want []int // slots per endpoint
	}{
		{"random", mk(5, 1), Random, []int{1, 1}},
		{"weighted gcd", mk(2, 4, 6), Weighted, []int{1, 2, 3}},
		{"weighted zero is one", mk(0, 3), Weighted, []int{1, 3}},
		{"weighted scaled down", mk(1000, 3000), Weighted, []int{1, 3}},
		{"weighted capped keeps everyone", mk(1, 100000), Weighted, []int{1, maxSlots - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slots(nil, tt.eps, &ServicePort{Balancing: tt.bal})
			for i, e := range tt.eps {
				n := 0
				for _, s := range got {
					if s == e.Addr {
						n++
					}
				}
				if n != tt.want[i] {
					t.Errorf("slots(%s): endpoint %d has %d slots; want %d", tt.name, i, n, tt.want[i])
				}
			}
		})
	}
}

// dispatch returns the verdict the ruleset gives a frontend key, or "".
func dispatch(t *testing.T, o Options, svcs []ServicePort, set, key string) string {
	t.Helper()
	rs, err := build(&o, svcs)
	if err != nil {
		t.Fatal(err)
	}
	s := rs.sets[set]
	for _, e := range s.elems {
		if s.keyText(e) == key {
			return s.dataText(e)
		}
	}
	return ""
}

func TestPolicies(t *testing.T) {
	cidrs := Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
	noLocal := local()
	noLocal.Endpoints, noLocal.LocalEndpoints = noLocal.Endpoints[1:], nil
	itl := dns()
	itl.InternalPolicy = PolicyLocal
	itlNone := dns()
	itlNone.InternalPolicy = PolicyLocal
	itlNone.Endpoints, itlNone.LocalEndpoints = itlNone.Endpoints[1:], nil
	empty := dns()
	empty.Endpoints = nil
	tests := []struct {
		name     string
		svc      ServicePort
		set, key string
		want     string
	}{
		{"clusterip cluster", dns(), "service-ips4", "10.96.0.53 . udp . 53", "goto cluster-ip4-2"},
		{"no endpoints rejects", empty, "service-ips4", "10.96.0.53 . udp . 53", "goto reject-chain"},
		{"internal local", itl, "service-ips4", "10.96.0.53 . udp . 53", "goto cluster-ip-local4-1"},
		{"internal local without local endpoint drops", itlNone, "service-ips4", "10.96.0.53 . udp . 53", "drop"},
		{"external local", local(), "service-ips4", "192.0.2.10 . tcp . 443", "goto external-local4-2-1"},
		{"external local nodeport", local(), "service-nodeports4", "tcp . 30443", "goto nodeport-external-local4-2-1"},
		{"external local without local endpoint", noLocal, "service-nodeports4", "tcp . 30443", "goto nodeport-external-local4-1-0"},
		{"external cluster", web(2), "service-nodeports4", "tcp . 30080", "goto nodeport-external4-2"},
		{"ipv6 family of its own", web(2), "service-ips6", "fd00:96::10 . tcp . 80", "goto cluster-ip6-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dispatch(t, cidrs, []ServicePort{tt.svc}, tt.set, tt.key); got != tt.want {
				t.Errorf("%s[%s] = %q; want %q", tt.set, tt.key, got, tt.want)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	bad := func(f func(*ServicePort)) []ServicePort {
		sp := dns()
		f(&sp)
		return []ServicePort{sp}
	}
	tests := []struct {
		name    string
		opts    Options
		svcs    []ServicePort
		wantErr error
		wantMsg string
	}{
		{"no name", Options{}, bad(func(sp *ServicePort) { sp.Name = "" }), ErrInvalid, "name"},
		{"zero port", Options{}, bad(func(sp *ServicePort) { sp.Port = 0 }), ErrInvalid, "port 0"},
		{"bad endpoint", Options{}, bad(func(sp *ServicePort) { sp.Endpoints[0].Addr = netip.AddrPort{} }), ErrInvalid, "endpoint"},
		{"no frontend", Options{}, bad(func(sp *ServicePort) { sp.ClusterIPs = nil }), ErrInvalid, "frontend none"},
		{"maglev size not prime", Options{}, bad(func(sp *ServicePort) { sp.Balancing, sp.MaglevSize = Maglev, 250 }), ErrInvalid, "maglev size"},
		{"maglev size below the endpoints", Options{}, bad(func(sp *ServicePort) {
			sp.Balancing, sp.MaglevSize = Maglev, 2
			sp.Endpoints = append(sp.Endpoints, ep("10.244.9.9:53"))
		}), ErrInvalid, "below 3 endpoints"},
		{"maglev size too large", Options{}, bad(func(sp *ServicePort) { sp.Balancing, sp.MaglevSize = Maglev, 65537 }), ErrInvalid, "maglev size"},
		{"maglev with session affinity", Options{}, bad(func(sp *ServicePort) { sp.Balancing, sp.AffinityTimeout = Maglev, 1e9 }), ErrInvalid, "affinity"},
		{"unknown balancing", Options{}, bad(func(sp *ServicePort) { sp.Balancing = 9 }), ErrInvalid, "balancing"},
		{"bad protocol", Options{}, bad(func(sp *ServicePort) { sp.Protocol = 9 }), ErrInvalid, "protocol"},
		{"bad option", Options{ClusterCIDRs: []netip.Prefix{{}}}, nil, ErrInvalid, "options"},
		{"same clusterip and port", Options{}, []ServicePort{dns(), func() ServicePort {
			sp := dns()
			sp.Name = "other"
			return sp
		}()}, ErrConflict, `already used by "kube-system/dns:dns/udp"`},
		{"listed twice", Options{}, []ServicePort{dns(), dns()}, ErrConflict, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.opts, tt.svcs)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Render(%s) error = %v; want %v containing %q", tt.name, err, tt.wantErr, tt.wantMsg)
			}
		})
	}
}

// TestIncrementalEqualsFull: after any sequence of updates the state equals
// a fresh build of the last input, and the delta names only changes.
func TestIncrementalEqualsFull(t *testing.T) {
	o := Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
	st, err := newState(&o)
	if err != nil {
		t.Fatal(err)
	}
	aff := web(3)
	aff.AffinityTimeout = 60e9
	// Maglev balancing, then a table of another size, then hashing the
	// source port too: each changes the pick chain only.
	mag := web(3)
	mag.Balancing = Maglev
	magSize := mag
	magSize.MaglevSize = 13
	magPort := magSize
	magPort.HashSourcePort = true
	inputs := [][]ServicePort{
		{web(3), dns()},
		{web(2), dns(), local()},
		{aff, local()},
		{web(4), local()},
		{dns()},
		nil,
		{web(1), aff2(), dns()},
		{mag, dns()},
		{magSize, dns()},
		{magPort, dns()},
	}
	for i, in := range inputs {
		d, err := st.update(in, true)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		want, _ := build(&o, in)
		if got := st.ruleset().String(); got != want.String() {
			t.Fatalf("step %d: incremental state differs from a fresh build:\n%s\nwant:\n%s", i, got, want)
		}
		if i > 0 && len(d.addElems)+len(d.delElems)+len(d.addChains)+len(d.delChains) == 0 {
			t.Errorf("step %d: empty delta for a changed input", i)
		}
		d, _ = st.update(in, true)
		if n := len(d.addElems) + len(d.delElems) + len(d.addChains) + len(d.delChains) + len(d.addSets) + len(d.delSets); n != 0 {
			t.Errorf("step %d: re-sync of the same input changes %d things; want 0", i, n)
		}
	}
}

func aff2() ServicePort {
	sp := local()
	sp.AffinityTimeout = 10e9
	return sp
}

// A cold start of thousands of service ports claims frontends on one core
// and counts elements on another (state.addAll): it must refuse what one
// core would, report the refusals in input order, and build the same
// ruleset as the service ports it kept would alone.
func TestColdStartRefusals(t *testing.T) {
	svcs := benchServices(2*parallelMin, 2)
	clash := svcs[100] // a later listing of svc-100's frontends
	clash.Name = "clash"
	// An endpoint of its own, whose hairpin element must not outlive it.
	clash.Endpoints = []Endpoint{{Addr: netip.MustParseAddrPort("10.250.0.1:80")}}
	broken := svcs[5] // invalid, so refused before any frontend is claimed
	broken.Name, broken.Port = "broken", 0
	in := slices.Concat(svcs[:50], []ServicePort{svcs[7]}, svcs[50:60], []ServicePort{broken}, svcs[60:], []ServicePort{clash})
	got, err := Render(Options{}, in)
	var se *SyncError
	if !errors.As(err, &se) {
		t.Fatalf("Render error = %v; want a *SyncError", err)
	}
	var keys []string
	for _, pe := range se.Refused {
		keys = append(keys, pe.Key.Name)
	}
	if want := []string{"svc-7", "broken", "clash"}; !slices.Equal(keys, want) {
		t.Errorf("refused %v; want %v, in input order", keys, want)
	}
	want, err := Render(Options{}, svcs)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Error("the ruleset of a cold start with refusals differs from that of the service ports it kept")
	}
}

func TestFake(t *testing.T) {
	ctx := context.Background()
	var _ Syncer = NewFake(Options{})
	f := NewFake(Options{Table: "t"})
	if got := f.Dump(); got != "" {
		t.Errorf("Dump() before Sync = %q; want empty", got)
	}
	if _, err := f.Sync(ctx, []ServicePort{dns()}); err != nil {
		t.Fatal(err)
	}
	want, _ := Render(Options{Table: "t"}, []ServicePort{dns()})
	if f.Dump() != want || !f.LastSyncFull() {
		t.Errorf("after first Sync: Dump() matches Render = %v, LastSyncFull = %v; want true, true", f.Dump() == want, f.LastSyncFull())
	}
	if _, err := f.Sync(ctx, []ServicePort{dns(), web(1)}); err != nil || f.LastSyncFull() {
		t.Errorf("second Sync: err %v, LastSyncFull %v; want nil, false", err, f.LastSyncFull())
	}
	// A refused service port is left out; the rest is programmed.
	var se *SyncError
	if _, err := f.Sync(ctx, []ServicePort{dns(), dns()}); !errors.Is(err, ErrConflict) || !errors.As(err, &se) || len(se.Refused) != 1 {
		t.Errorf("Sync(duplicate) = %v; want a *SyncError of one ErrConflict", err)
	}
	if want, _ := Render(Options{Table: "t"}, []ServicePort{dns()}); f.Dump() != want || f.LastSyncFull() {
		t.Errorf("after Sync(duplicate): Dump() matches Render(dns) = %v, LastSyncFull %v; want true, false", f.Dump() == want, f.LastSyncFull())
	}
	f.Resync()
	if _, err := f.Sync(ctx, nil); err != nil || !f.LastSyncFull() {
		t.Errorf("Sync after Resync: LastSyncFull %v; want true", f.LastSyncFull())
	}
	if err := f.Cleanup(ctx); err != nil || f.Dump() != "" {
		t.Errorf("Cleanup: err %v, Dump %q; want nil, empty", err, f.Dump())
	}
	_ = f.Close()
	if _, err := f.Sync(ctx, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close = %v; want ErrClosed", err)
	}
}

// TestZeroOptions: the zero Options render the default table.
func TestZeroOptions(t *testing.T) {
	text, err := Render(Options{}, nil)
	if err != nil || !strings.HasPrefix(text, "table inet svcnet {") {
		t.Errorf("Render(Options{}, nil) = %q, %v; want table inet svcnet", text[:min(len(text), 30)], err)
	}
}

// TestIncrementalAnyOrder drives one state through random subsets, orders
// and edits of a pool of services: it must always equal a fresh build, and
// a re-sync of the same services in another order must change nothing.
func TestIncrementalAnyOrder(t *testing.T) {
	o := Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
	st, err := newState(&o)
	if err != nil {
		t.Fatal(err)
	}
	pool := benchServices(40, 3)
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 200 {
		var in []ServicePort
		for _, i := range rng.Perm(len(pool))[:rng.IntN(len(pool)+1)] {
			sp := cloneSP(&pool[i])
			if rng.IntN(4) == 0 {
				sp.Endpoints = sp.Endpoints[:rng.IntN(len(sp.Endpoints)+1)]
			}
			in = append(in, sp)
		}
		if _, err := st.update(in, true); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		want, err := build(&o, in)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.ruleset().String(); got != want.String() {
			t.Fatalf("step %d: incremental state differs from a fresh build:\n%s\nwant:\n%s", step, got, want)
		}
		rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		d, refused := st.update(in, true)
		if refused != nil {
			t.Fatalf("step %d: reordered: %v", step, refused)
		}
		if n := len(d.addElems) + len(d.delElems) + len(d.addChains) + len(d.delChains) + len(d.addSets) + len(d.delSets); n != 0 {
			t.Fatalf("step %d: re-sync in another order changes %d things; want 0", step, n)
		}
		// One edit in place, the order kept: the path that finds fragments
		// by position.
		if len(in) == 0 {
			continue
		}
		k := rng.IntN(len(in))
		in[k] = cloneSP(&in[k])
		in[k].Endpoints = append(in[k].Endpoints, Endpoint{Addr: netip.MustParseAddrPort("10.244.9.9:99")})
		if _, err := st.update(in, true); err != nil {
			t.Fatalf("step %d: edited: %v", step, err)
		}
		if want, _ := build(&o, in); st.ruleset().String() != want.String() {
			t.Fatalf("step %d: after an edit in place the state differs from a fresh build", step)
		}
	}
}

// cloneSP deep-copies a service port, as a fragment keeps it.
func cloneSP(sp *ServicePort) ServicePort { return new(builder).clone(sp) }
