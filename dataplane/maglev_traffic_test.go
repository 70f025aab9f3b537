package dataplane_test

import (
	"context"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"testing"

	"github.com/svcnet/svcnet/balancer"
	"github.com/svcnet/svcnet/dataplane"
)

// kernelJhash is the kernel's jhash (include/linux/jhash.h, Bob Jenkins'
// lookup3) over key with seed, followed by nft_hash's reciprocal_scale
// into [0, mod): what "jhash ... mod M seed S" computes. The test checks it
// against real packets before trusting its simulation of many clients.
func kernelJhash(key []byte, seed, mod uint32) uint32 {
	n := uint32(len(key))
	a := 0xdeadbeef + n + seed
	b, c := a, a
	mix := func() {
		a -= c
		a ^= bits.RotateLeft32(c, 4)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 6)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 8)
		b += a
		a -= c
		a ^= bits.RotateLeft32(c, 16)
		c += b
		b -= a
		b ^= bits.RotateLeft32(a, 19)
		a += c
		c -= b
		c ^= bits.RotateLeft32(b, 4)
		b += a
	}
	for len(key) > 12 {
		a += binary.LittleEndian.Uint32(key)
		b += binary.LittleEndian.Uint32(key[4:])
		c += binary.LittleEndian.Uint32(key[8:])
		mix()
		key = key[12:]
	}
	if len(key) > 0 {
		var tail [12]byte
		copy(tail[:], key)
		a += binary.LittleEndian.Uint32(tail[:])
		b += binary.LittleEndian.Uint32(tail[4:])
		c += binary.LittleEndian.Uint32(tail[8:])
		c ^= b
		c -= bits.RotateLeft32(b, 14)
		a ^= c
		a -= bits.RotateLeft32(c, 11)
		b ^= a
		b -= bits.RotateLeft32(a, 25)
		c ^= b
		c -= bits.RotateLeft32(b, 16)
		a ^= c
		a -= bits.RotateLeft32(c, 4)
		b ^= a
		b -= bits.RotateLeft32(a, 14)
		c ^= b
		c -= bits.RotateLeft32(b, 24)
	}
	return uint32(uint64(c) * uint64(mod) >> 32)
}

// maglevSeed is the dataplane's fixed jhash seed, as its rendering shows.
const maglevSeed = 0x5ca1ab1e

// maglevModel predicts the backend of a client as the kernel picks it for
// a Maglev service over eps (named by address, as the dataplane names
// them) with the default table size.
type maglevModel struct {
	table []uint32
	eps   []dataplane.Endpoint
}

func newMaglevModel(t *testing.T, eps []dataplane.Endpoint) maglevModel {
	t.Helper()
	bs := make([]balancer.Backend, len(eps))
	for i, e := range eps {
		bs[i] = balancer.Backend{Name: e.Addr.String()}
	}
	table, err := balancer.MaglevTable(bs, dataplane.DefaultMaglevSize, 0)
	if err != nil {
		t.Fatal(err)
	}
	return maglevModel{table, eps}
}

func (m maglevModel) pick(client netip.Addr) netip.AddrPort {
	a := client.As4()
	return m.eps[m.table[kernelJhash(a[:], maglevSeed, dataplane.DefaultMaglevSize)]].Addr
}

// TestTrafficMaglev (issue 15): with Maglev balancing, two nodes with the
// same services send each client to the same backend, and the backend is
// the one the Maglev table says; removing one of 10 backends moves at most
// 15 % of 1,000 simulated clients, where hashing modulo the endpoint count
// moves most of them.
func TestTrafficMaglev(t *testing.T) {
	const backends, clients = 10, 16
	var nodes [2]*rig
	var sources []netip.Addr
	dst := netip.AddrPortFrom(clusterIPv4, 80)
	for i := range nodes {
		nodes[i] = newRig(t, backends)
		svc := clusterIP("hashed", dataplane.TCP, clusterIPv4, ready(clusterIPv4, nodes[i].web...))
		svc.Balancing = dataplane.Maglev
		nodes[i].sync(t, svc)
		for range clients {
			a := nodes[i].w.Client.AddIPv4(t)
			if i == 0 {
				sources = append(sources, a)
			}
		}
	}
	eps := ready(clusterIPv4, nodes[0].web...)
	model := newMaglevModel(t, eps)
	byAddr := map[netip.Addr]string{}
	for _, p := range nodes[0].web {
		byAddr[p.IPv4] = p.Name
	}
	ask := func(r *rig, src netip.Addr) string {
		t.Helper()
		reply, err := r.w.Client.NS.AskFrom(context.Background(), "tcp", src, dst)
		if err != nil {
			t.Fatalf("from %v: %v", src, err)
		}
		return reply.Backend
	}
	used := map[string]bool{}
	for _, src := range sources {
		a, b, again := ask(nodes[0], src), ask(nodes[1], src), ask(nodes[0], src)
		if a != b || a != again {
			t.Errorf("client %v: node 1 sent it to %s then %s, node 2 to %s; want one backend", src, a, again, b)
		}
		if want := byAddr[model.pick(src).Addr()]; a != want {
			t.Errorf("client %v reached %s; the Maglev table says %s", src, a, want)
		}
		used[a] = true
	}
	if len(used) < 3 {
		t.Errorf("%d clients all reached %v; want them spread", clients, used)
	}

	// One backend removed: the kernel follows the new table.
	nodes[0].sync(t, func() dataplane.ServicePort {
		s := clusterIP("hashed", dataplane.TCP, clusterIPv4, eps[:backends-1])
		s.Balancing = dataplane.Maglev
		return s
	}())
	after := newMaglevModel(t, eps[:backends-1])
	for _, src := range sources {
		if got, want := ask(nodes[0], src), byAddr[after.pick(src).Addr()]; got != want {
			t.Errorf("after the removal, client %v reached %s; the Maglev table says %s", src, got, want)
		}
	}

	maglevMoved, modMoved := 0, 0
	for i := range 1000 {
		c := netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
		if model.pick(c) != after.pick(c) {
			maglevMoved++
		}
		k := c.As4()
		if eps[kernelJhash(k[:], maglevSeed, backends)] != eps[kernelJhash(k[:], maglevSeed, backends-1)] {
			modMoved++
		}
	}
	slotsMoved := 0
	for i, j := range model.table {
		if eps[j] != after.eps[after.table[i]] {
			slotsMoved++
		}
	}
	t.Logf("removing 1 of %d backends moves %d of 1000 clients with Maglev (%d of %d slots), %d with hash mod N",
		backends, maglevMoved, slotsMoved, dataplane.DefaultMaglevSize, modMoved)
	if maglevMoved > 150 || modMoved <= maglevMoved {
		t.Errorf("moved: Maglev %d, mod N %d of 1000; want Maglev at most 150 and below mod N", maglevMoved, modMoved)
	}
}
