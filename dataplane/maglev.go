package dataplane

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables/expr"
	"github.com/svcnet/svcnet/balancer"
)

// Maglev in the kernel: the pick chain of a Maglev service port hashes the
// client with jhash into a slot of the same endpoints map the random picks
// use, whose elements hold the Maglev table. The rule count stays
// independent of the number of services; the cost is MaglevSize elements
// per frontend.

const (
	// DefaultMaglevSize is the Maglev table size when ServicePort.MaglevSize
	// is zero: 251 slots, one map element each per frontend. Measured on
	// kernel 6.18, an element costs about 70 bytes of kernel memory, so
	// 10,000 Maglev services with one frontend each hold 2.5 million
	// elements and about 176 MB (509 slots: 409 MB). Removing one of 10
	// endpoints then moves about 14 % of clients (10 % is the ideal, which
	// larger tables approach: 13.4 % at 509 slots, 12 % at 1,021). Raise
	// it for services with more than about 25 endpoints.
	DefaultMaglevSize = 251
	// MaxMaglevSize bounds ServicePort.MaglevSize: one frontend's table
	// stays below 65,536 elements.
	MaxMaglevSize = 65521

	// maglevSeed seeds jhash the same on every node, so that all nodes
	// hash a client alike; without a seed the kernel draws a random one
	// per rule.
	maglevSeed = 0x5ca1ab1e
)

// hashing is how a Maglev pick chain hashes; the zero value means no
// hashing.
type hashing struct {
	size  uint32
	sport bool
}

func hashOf(sp *ServicePort) hashing {
	if sp.Balancing != Maglev {
		return hashing{}
	}
	return hashing{sp.maglevSize(), sp.HashSourcePort}
}

// suffix names the chains of one kind of hashing apart from random ones.
func (h hashing) suffix() string {
	switch {
	case h.size == 0:
		return ""
	case h.sport:
		return "-maglev-sport"
	}
	return "-maglev"
}

func (sp *ServicePort) maglevSize() uint32 {
	if sp.MaglevSize == 0 {
		return DefaultMaglevSize
	}
	return sp.MaglevSize
}

func (sp *ServicePort) validateMaglev() error {
	bad := func(what string, v any) error {
		return fmt.Errorf("service %q: %s %v: %w", sp.ID(), what, v, ErrInvalid)
	}
	size := sp.maglevSize()
	if size > MaxMaglevSize {
		return bad("maglev size", size)
	}
	// An empty backend list makes MaglevTable check the size alone.
	if _, err := balancer.MaglevTable(nil, uint64(size), 0); err != nil {
		return bad("maglev size", fmt.Sprintf("%d (%v)", size, err))
	}
	if n := max(len(sp.Endpoints), len(sp.LocalEndpoints)); n > int(size) {
		return bad("maglev size", fmt.Sprintf("%d below %d endpoints", size, n))
	}
	if sp.AffinityTimeout > 0 {
		return bad("session affinity with maglev", "(maglev already keeps a client on its endpoint)")
	}
	return nil
}

// maglevSlots returns the Maglev table of eps (sorted, of one family) as
// the endpoint of each slot. The endpoints are named by their address, so
// every node that has the same endpoints builds the same table.
func maglevSlots(eps []Endpoint, size uint32) []netip.AddrPort {
	bs := make([]balancer.Backend, len(eps))
	for i, e := range eps {
		bs[i] = balancer.Backend{Addr: e.Addr, Name: e.Addr.String(), Weight: e.Weight}
	}
	table, err := balancer.MaglevTable(bs, uint64(size), 0)
	if err != nil {
		// validateMaglev admitted only sizes MaglevTable accepts.
		panic(err)
	}
	out := make([]netip.AddrPort, len(table))
	for i, j := range table {
		out[i] = eps[j].Addr
	}
	return out
}

// jhash loads the client's address (and source port) into the next key
// register and replaces it with its jhash modulo h.size: the slot. The
// address spills into the registers after it, which no later key word
// uses; the hash reads them before it writes its one word.
func (b *rb) jhash(f IPFamily, h hashing) *rb {
	r := b.next(4)
	n := f.addrLen()
	b.e(&expr.Payload{DestRegister: r, Base: expr.PayloadBaseNetworkHeader, Offset: addrOffset(f, true), Len: n})
	in := f.ip() + " saddr"
	if h.sport {
		b.e(&expr.Payload{DestRegister: r + n/4, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2})
		in += " . th sport"
		n += 4
	}
	b.words = append(b.words, fmt.Sprintf("jhash %s mod %d seed 0x%x", in, h.size, maglevSeed))
	return b.e(&expr.Hash{SourceRegister: r, DestRegister: r, Length: n, Modulus: h.size, Seed: maglevSeed,
		Type: expr.HashTypeJenkins})
}
