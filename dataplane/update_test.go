package dataplane

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

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
