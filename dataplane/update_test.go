package dataplane

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
)

// TestListedTwice: a key listed twice fails an Update whole, whether few
// keys are compared pairwise or many go through a map.
func TestListedTwice(t *testing.T) {
	many := benchServices(listedMax+3, 1)
	w, d := web(1), dns()
	keys := func(svcs []ServicePort) []Key {
		var out []Key
		for i := range svcs {
			out = append(out, svcs[i].Key())
		}
		return out
	}
	tests := []struct {
		name    string
		upsert  []ServicePort
		remove  []Key
		wantErr string
	}{
		{name: "none"},
		{name: "distinct", upsert: []ServicePort{web(1), dns()}, remove: keys([]ServicePort{local()})},
		{name: "upserted twice", upsert: []ServicePort{web(1), dns(), web(2)}, wantErr: `service "default/web:http/tcp": listed twice`},
		{name: "upserted and removed", upsert: []ServicePort{web(1)}, remove: []Key{w.Key()},
			wantErr: "service default/web:http/tcp: both updated and removed"},
		{name: "removed twice", remove: []Key{d.Key(), d.Key()}, wantErr: "service kube-system/dns:dns/udp: both updated and removed"},
		{name: "many distinct", upsert: many[:listedMax], remove: keys(many[listedMax:])},
		{name: "many, upserted twice", upsert: append(many[:listedMax+1:listedMax+1], many[3]),
			wantErr: `service "bench/svc-3:http/tcp": listed twice`},
		{name: "many, removed twice", upsert: many[:listedMax], remove: keys(many[2:3]),
			wantErr: "service bench/svc-2:http/tcp: both updated and removed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := listedTwice(tc.upsert, tc.remove)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("listedTwice = %v; want nil", err)
			case tc.wantErr != "" && (!errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("listedTwice = %v; want ErrConflict saying %q", err, tc.wantErr)
			}
		})
	}
}

// TestDeltaReused: an update's delta is the last one emptied, holding only
// its own changes, unless the last one grew large.
func TestDeltaReused(t *testing.T) {
	o := Options{}
	st, err := newState(&o)
	if err != nil {
		t.Fatal(err)
	}
	svcs := benchServices(deltaKeep/4, 3)
	if _, refused := st.update(svcs, false); refused != nil {
		t.Fatal(refused)
	}
	change := func(i, port int) *delta {
		t.Helper()
		sp := cloneSP(&svcs[i])
		sp.Endpoints[0].Addr = netip.AddrPortFrom(sp.Endpoints[0].Addr.Addr(), uint16(port))
		svcs[i] = sp
		d, refused, err := st.apply([]ServicePort{sp}, nil)
		if err != nil || refused != nil {
			t.Fatalf("apply: %v, %v", refused, err)
		}
		return d
	}
	first := change(1, 9001)
	second := change(2, 9002)
	if first != second {
		t.Errorf("the second update made a delta of its own; want the first one reused")
	}
	// Endpoint slot 0 of the ClusterIP and of the NodePort: one element
	// out and one in, each.
	for name, m := range map[string]map[string]map[string]elem{"added": second.addElems, "deleted": second.delElems} {
		n := 0
		for _, es := range m {
			n += len(es)
		}
		if n != 2 {
			t.Errorf("%s %d elements; want 2 (the last update's only)", name, n)
		}
	}
	if want, _ := build(&o, svcs); st.ruleset().String() != want.String() {
		t.Fatal("the state differs from a fresh build")
	}
	d, refused := st.update(benchServices(deltaKeep/4, 1), true)
	if refused != nil || d.puts <= deltaKeep {
		t.Fatalf("a sync of every service recorded %d changes (%v); want more than %d", d.puts, refused, deltaKeep)
	}
	if after := change(3, 9003); after == d {
		t.Error("the delta of a large sync was kept; want a new one")
	}
}

// TestDeltaEncodeNoAllocs holds the encoding of an endpoint change (the
// elements of a delta into a batch) to no allocations.
func TestDeltaEncodeNoAllocs(t *testing.T) {
	o := Options{}
	st, err := newState(&o)
	if err != nil {
		t.Fatal(err)
	}
	svcs := benchServices(10, 3)
	if _, refused := st.update(svcs, false); refused != nil {
		t.Fatal(refused)
	}
	sp := cloneSP(&svcs[4])
	sp.Endpoints[0].Addr = netip.AddrPortFrom(sp.Endpoints[0].Addr.Addr(), 9999)
	dl, _, err := st.apply([]ServicePort{sp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b batch
	enc, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		b.appendMessages(req)
		return nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	x := tx{c: enc, b: &b, t: &nftables.Table{Name: o.table(), Family: nftables.TableFamilyINet}}
	msgs := 0
	var stats Stats
	x.stats = &stats
	encode := func() {
		b.reset()
		stats = Stats{}
		if err := x.delta(st.rs, dl); err != nil {
			t.Fatal(err)
		}
		if err := x.encode(); err != nil {
			t.Fatal(err)
		}
		b.endElems()
		msgs = b.messages()
		b.finish()
	}
	encode()
	if got := msgs; got != 4 || x.stats.ElementsAdded != 2 || x.stats.ElementsRemoved != 2 {
		t.Fatalf("encoded %d messages, %+v; want 4: 2 elements deleted and 2 added, one message each", got, *x.stats)
	}
	if n := testing.AllocsPerRun(100, encode); n != 0 {
		t.Errorf("encoding an endpoint change allocates %v times; want 0", n)
	}
}

// TestKernelUpdateCancelled: an Update whose elements come out as they were
// (here: weights an unweighted service ignores) sends nothing, not empty
// element messages, and the kernel keeps the table.
func TestKernelUpdateCancelled(t *testing.T) {
	o := Options{}
	svcs := []ServicePort{web(3), dns()}
	d := syncedDataplane(t, o, svcs)
	ctx := context.Background()
	sp := cloneSP(&svcs[0])
	for i := range sp.Endpoints {
		sp.Endpoints[i].Weight = 7
	}
	stats, err := d.Update(ctx, []ServicePort{sp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 0 || stats.ElementsAdded+stats.ElementsRemoved != 0 || stats.Full {
		t.Errorf("Update with nothing to change = %+v; want no message", stats)
	}
	svcs[0] = sp
	assertKernel(t, d, o, svcs)
}

// TestKernelNoConnection: when reopening the connection after a failure
// failed, the next batch is refused rather than sent to a descriptor that
// may be anything's by then; the connection is reopened and the table
// replaced whole.
func TestKernelNoConnection(t *testing.T) {
	o := Options{}
	svcs := []ServicePort{web(2), dns()}
	d := syncedDataplane(t, o, svcs)
	ctx := context.Background()
	d.mu.Lock()
	d.fd = -1 // as a failed dial leaves it
	d.mu.Unlock()
	svcs[0] = web(3)
	stats, err := d.Update(ctx, svcs[:1], nil)
	if err != nil || !stats.Full || stats.Batches != 2 {
		t.Fatalf("Update without a connection = %+v, %v; want the incremental batch refused, then a full sync", stats, err)
	}
	assertKernel(t, d, o, svcs)
	svcs[0] = web(1)
	if stats, err := d.Update(ctx, svcs[:1], nil); err != nil || stats.Full {
		t.Errorf("Update after the reconnect = %+v, %v; want an incremental one", stats, err)
	}
	assertKernel(t, d, o, svcs)
}

// syncedDataplane is a Dataplane on a fresh namespace that holds svcs.
func syncedDataplane(t *testing.T, o Options, svcs []ServicePort) *Dataplane {
	t.Helper()
	d, _ := kernelDataplane(t, o)
	if _, err := d.Sync(context.Background(), svcs); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestApplyDeltaInPlace: random endpoint changes through apply, many of
// them taking replace's path, leave a state equal to a fresh build, and
// their deltas, applied as the kernel does (deletions, then additions) to
// the elements before, give the elements after.
func TestApplyDeltaInPlace(t *testing.T) {
	o := Options{}
	st, err := newState(&o)
	if err != nil {
		t.Fatal(err)
	}
	svcs := append(benchServices(30, 3), dns(), local())
	if _, refused := st.update(svcs, false); refused != nil {
		t.Fatal(refused)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	edits := []func(sp *ServicePort, e int){
		func(sp *ServicePort, e int) { // a new port: in place
			sp.Endpoints[e].Addr = netip.AddrPortFrom(sp.Endpoints[e].Addr.Addr(), uint16(1+rng.IntN(60000)))
		},
		func(sp *ServicePort, e int) { // a new address, maybe another service's
			sp.Endpoints[e].Addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, byte(rng.IntN(3)), byte(rng.IntN(40))}), 8080)
		},
		func(sp *ServicePort, _ int) { // one more: another shape
			sp.Endpoints = append(sp.Endpoints, Endpoint{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 244, 7, byte(rng.IntN(9))}), 80)})
		},
		func(sp *ServicePort, e int) { // one fewer
			sp.Endpoints = slices.Delete(sp.Endpoints, e, e+1)
		},
	}
	for step := range 300 {
		before := elemsOf(st.ruleset())
		i := rng.IntN(len(svcs))
		sp := cloneSP(&svcs[i])
		if len(sp.Endpoints) > 0 {
			edits[rng.IntN(len(edits))](&sp, rng.IntN(len(sp.Endpoints)))
		}
		d, refused, err := st.apply([]ServicePort{sp}, nil)
		if err != nil || refused != nil {
			t.Fatalf("step %d: apply: %v, %v", step, refused, err)
		}
		svcs[i] = sp
		want, err := build(&o, svcs)
		if err != nil {
			t.Fatal(err)
		}
		got := st.ruleset()
		if got.String() != want.String() {
			t.Fatalf("step %d: state differs from a fresh build:\n%s\nwant:\n%s", step, got, want)
		}
		for name, es := range d.delElems {
			for k := range es {
				if _, ok := before[name][k]; !ok {
					t.Fatalf("step %d: deletes %s %q, which the kernel does not hold", step, name, k)
				}
				delete(before[name], k)
			}
		}
		for name, es := range d.addElems {
			for k, e := range es {
				if _, ok := before[name][k]; ok {
					t.Fatalf("step %d: adds %s %q, which the kernel holds", step, name, k)
				}
				putData(before, name, k, e.data())
			}
		}
		if after := elemsOf(got); !maps.EqualFunc(after, before, maps.Equal) {
			t.Fatalf("step %d: the delta applied to the elements before does not give those after", step)
		}
	}
}

// elemsOf maps each set of rs with elements to its elements' data by key.
func elemsOf(rs *ruleset) map[string]map[string]string {
	out := map[string]map[string]string{}
	for name, s := range rs.sets {
		for _, e := range s.elems {
			putData(out, name, e.key(), e.data())
		}
	}
	return out
}

// putData sets m[set][key] to data.
func putData(m map[string]map[string]string, set, key, data string) {
	if m[set] == nil {
		m[set] = map[string]string{}
	}
	m[set][key] = data
}

// TestReplace: a new version of a service port with the same frontends,
// chains and element counts replaces the old in place; one with another
// shape does not, and leaves the state as it was.
func TestReplace(t *testing.T) {
	o := Options{}
	st, err := newState(&o)
	if err != nil {
		t.Fatal(err)
	}
	svcs := []ServicePort{web(3), dns(), local()}
	if _, refused := st.update(svcs, false); refused != nil {
		t.Fatal(refused)
	}
	port := web(3)
	port.Endpoints[1].Addr = netip.MustParseAddrPort("10.244.2.2:9090")
	addr := web(3)
	addr.Endpoints[1].Addr = netip.MustParseAddrPort("10.244.9.2:8080")
	aff := web(3)
	aff.AffinityTimeout = time.Minute
	moved := web(3)
	moved.NodePort = 30099
	tests := []struct {
		name string
		sp   ServicePort
		want bool
	}{
		{"endpoint port", port, true},
		{"endpoint address", addr, true},
		{"one more endpoint", web(4), false},
		{"affinity", aff, false},
		{"another NodePort", moved, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := st.ruleset().String()
			frs, refused := st.build([]ServicePort{tc.sp}, []int{0})
			if refused != nil {
				t.Fatal(refused)
			}
			old := st.frags[tc.sp.Key()]
			d := st.newDelta()
			if got := st.replace(old, frs[0], d); got != tc.want {
				t.Fatalf("replace = %v; want %v", got, tc.want)
			}
			if !tc.want {
				if st.ruleset().String() != before || d.puts != 0 {
					t.Error("a refused replace changed the state or the delta")
				}
				return
			}
			st.frags[tc.sp.Key()] = frs[0]
			if want, _ := build(&o, []ServicePort{tc.sp, dns(), local()}); st.ruleset().String() != want.String() {
				t.Error("the state differs from a fresh build")
			}
			// The original goes back the same way.
			orig := []ServicePort{web(3)}
			back, _ := st.build(orig, []int{0})
			if !st.replace(frs[0], back[0], st.newDelta()) {
				t.Fatal("putting the original back was refused")
			}
			st.frags[tc.sp.Key()] = back[0]
			if st.ruleset().String() != before {
				t.Error("the state differs from before the change")
			}
		})
	}
}
