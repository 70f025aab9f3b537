package dataplane

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// ClientIP affinity follows kube-proxy: a service port with affinity gets
// its own chains, and each of its endpoints a dynamic set of the clients
// sent to it, whose entries expire after the timeout unless refreshed by a
// new connection. A removed endpoint takes its set along, so no client
// stays stuck to it. Only affinity services cost rules per service; they
// are the exception in practice.

// tag is a short stable name for a service port's own chains and sets.
func tag(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return fmt.Sprintf("%016x", h.Sum64())
}

func epTag(ep netip.AddrPort) string { return tag(ep.String())[:8] }

// sticky builds the pick chain of an affinity service: clients known to an
// endpoint go back to it; others take a uniform pick over the slots through
// a cascade (slot i is taken with probability 1/(n-i), so each of n slots
// gets 1/n), and the endpoint chain records them.
func (b *builder) sticky(local bool, f IPFamily, slots []netip.AddrPort) {
	name := b.pickName(scopeAddr, local, f, len(slots))
	if _, ok := b.rs.chains[name]; ok {
		return
	}
	var rs []*rule
	done := map[netip.AddrPort]bool{}
	for _, ep := range slots {
		if done[ep] {
			continue
		}
		done[ep] = true
		set, chain := b.stickyEndpoint(f, ep)
		rs = append(rs, newRB().nfproto(f).addr(f, true).lookup(0, set, false).verdict(expr.VerdictGoto, chain))
	}
	for i, ep := range slots {
		_, chain := b.stickyEndpoint(f, ep)
		if i == len(slots)-1 {
			rs = append(rs, newRB().verdict(expr.VerdictGoto, chain))
			break
		}
		rb := newRB()
		rb.w(fmt.Sprintf("numgen random mod %d == 0", len(slots)-i))
		rb.e(&expr.Numgen{Register: 1, Modulus: uint32(len(slots) - i), Type: ngRandom},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: make([]byte, 4)})
		rs = append(rs, rb.verdict(expr.VerdictGoto, chain))
	}
	b.chain(name, nil, rs...)
}

// stickyEndpoint adds, once, the client set and the chain of one endpoint of
// the current affinity service, and returns their names.
func (b *builder) stickyEndpoint(f IPFamily, ep netip.AddrPort) (setName, chain string) {
	setName = fmt.Sprintf("sticky-%s-%s", b.tag, epTag(ep))
	chain = "sticky-endpoint-" + b.tag + "-" + epTag(ep)
	if _, ok := b.rs.chains[chain]; ok {
		return setName, chain
	}
	b.newSet(setName, set{keyTypes: []nftables.SetDatatype{f.addrType()}, dynamic: true,
		timeout: time.Duration(b.aff) * time.Second, size: affinitySize})
	up := newRB().nfproto(f)
	up.addr(f, true)
	up.words[len(up.words)-1] = fmt.Sprintf("update @%s { %s saddr }", setName, f.ip())
	up.e(&expr.Dynset{SrcRegKey: regBase, SetName: setName, Operation: unix.NFT_DYNSET_OP_UPDATE})
	a := ep.Addr().Unmap()
	// nft wants the protocol matched before a port is mapped.
	dn := newRB().nfproto(f)
	dn.w("meta l4proto " + b.proto.nftName())
	dn.e(&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{b.proto.number()}})
	if f == 6 {
		dn.w(fmt.Sprintf("dnat ip6 to [%s]:%d", a, ep.Port()))
	} else {
		dn.w(fmt.Sprintf("dnat ip to %s:%d", a, ep.Port()))
	}
	dn.e(&expr.Immediate{Register: regBase, Data: a.AsSlice()},
		&expr.Immediate{Register: regBase + f.addrLen()/4, Data: []byte{byte(ep.Port() >> 8), byte(ep.Port())}},
		natTo(f, regBase))
	b.chain(chain, nil, up.done(), dn.done())
	return setName, chain
}

func natTo(f IPFamily, d uint32) *expr.NAT {
	return &expr.NAT{Type: expr.NATTypeDestNAT, Family: uint32(f.nfproto()), RegAddrMin: d,
		RegProtoMin: d + f.addrLen()/4, Specified: true}
}
