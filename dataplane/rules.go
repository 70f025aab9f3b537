package dataplane

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// rule is one nftables rule kept in two forms built side by side, so that the
// text we show and the expressions we send cannot drift apart.
type rule struct {
	text  string
	exprs []expr.Any
}

// rb builds a rule. Key fields are loaded into consecutive 32-bit registers,
// padded to 4 bytes as the kernel pads concatenations.
type rb struct {
	words []string
	exprs []expr.Any
	reg   uint32 // next free 32-bit register for a key
}

const (
	regBase  = 8 // NFT_REG32_00
	markMasq = 0x4000
	ngRandom = 1 // NFT_NG_RANDOM
)

func newRB() *rb { return &rb{reg: regBase} }

func (f IPFamily) ip() string {
	if f == 6 {
		return "ip6"
	}
	return "ip"
}

func (f IPFamily) nfproto() byte {
	if f == 6 {
		return unix.NFPROTO_IPV6
	}
	return unix.NFPROTO_IPV4
}

func (f IPFamily) addrLen() uint32 {
	if f == 6 {
		return 16
	}
	return 4
}

func (f IPFamily) addrType() nftables.SetDatatype {
	if f == 6 {
		return nftables.TypeIP6Addr
	}
	return nftables.TypeIPAddr
}

func (b *rb) w(s ...string) *rb { b.words = append(b.words, s...); return b }

func (b *rb) e(e ...expr.Any) *rb { b.exprs = append(b.exprs, e...); return b }

// nfproto adds the family check nft adds implicitly before an ip/ip6 match.
func (b *rb) nfproto(f IPFamily) *rb {
	return b.e(&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f.nfproto()}})
}

func (b *rb) next(n uint32) uint32 {
	r := b.reg
	b.reg += (n + 3) / 4
	return r
}

func addrOffset(f IPFamily, src bool) uint32 {
	switch {
	case f == 4 && src:
		return 12
	case f == 4:
		return 16
	case src:
		return 8
	}
	return 24
}

// addr loads ip saddr/daddr into the next key register.
func (b *rb) addr(f IPFamily, src bool) *rb {
	n := "daddr"
	if src {
		n = "saddr"
	}
	b.words = append(b.words, f.ip()+" "+n)
	return b.e(&expr.Payload{DestRegister: b.next(f.addrLen()), Base: expr.PayloadBaseNetworkHeader,
		Offset: addrOffset(f, src), Len: f.addrLen()})
}

func (b *rb) l4proto() *rb {
	b.words = append(b.words, "meta l4proto")
	return b.e(&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: b.next(1)})
}

func (b *rb) dport() *rb {
	b.words = append(b.words, "th dport")
	return b.e(&expr.Payload{DestRegister: b.next(2), Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
}

func (b *rb) numgen(n int) *rb {
	b.words = append(b.words, fmt.Sprintf("numgen random mod %d", n))
	return b.e(&expr.Numgen{Register: b.next(4), Modulus: uint32(n), Type: ngRandom})
}

// concat joins the key words loaded so far with " . ".
func (b *rb) concat(from int) {
	joined := strings.Join(b.words[from:], " . ")
	b.words = append(b.words[:from], joined)
}

// lookup matches the key loaded since word from against a named set.
func (b *rb) lookup(from int, set string, invert bool) *rb {
	b.concat(from)
	op := ""
	if invert {
		op = "!= "
	}
	b.words[len(b.words)-1] += " " + op + "@" + set
	b.e(&expr.Lookup{SourceRegister: regBase, SetName: set, Invert: invert})
	b.reg = regBase
	return b
}

// vmap dispatches on the key loaded since word from through a verdict map.
func (b *rb) vmap(from int, set string) *rb {
	b.concat(from)
	b.words[len(b.words)-1] += " vmap @" + set
	b.e(&expr.Lookup{SourceRegister: regBase, DestRegister: 0, IsDestRegSet: true, SetName: set})
	b.reg = regBase
	return b
}

// dnatMap translates the key loaded since word from through a map whose data
// is "address . port".
func (b *rb) dnatMap(from int, f IPFamily, set string) *rb {
	b.concat(from)
	b.words[len(b.words)-1] = fmt.Sprintf("dnat %s to %s map @%s", f.ip(), b.words[len(b.words)-1], set)
	b.e(&expr.Lookup{SourceRegister: regBase, DestRegister: regBase, IsDestRegSet: true, SetName: set},
		natTo(f, regBase))
	b.reg = regBase
	return b
}

// fibLocal matches when the source or destination address is local.
func (b *rb) fibLocal(src bool) *rb {
	if src {
		b.w("fib saddr type local")
	} else {
		b.w("fib daddr type local")
	}
	return b.e(&expr.Fib{Register: 1, ResultADDRTYPE: true, FlagSADDR: src, FlagDADDR: !src},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, unix.RTN_LOCAL)})
}

// notLoopback4 excludes 127.0.0.0/8, where kube-proxy never serves NodePorts.
func (b *rb) notLoopback(f IPFamily) *rb {
	if f == 6 {
		b.w("ip6 daddr != ::1")
		return b.e(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: netip.IPv6Loopback().AsSlice()})
	}
	b.w("ip daddr != 127.0.0.0/8")
	return b.e(&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 0, 0, 0}, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{127, 0, 0, 0}})
}

func (b *rb) ctStatusDNAT() *rb {
	b.w("ct status dnat")
	return b.e(&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, 0x20), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)})
}

func (b *rb) markTest(set bool) *rb {
	if set {
		b.w(fmt.Sprintf("meta mark & 0x%08x == 0x%08x", markMasq, markMasq))
	} else {
		b.w(fmt.Sprintf("meta mark & 0x%08x == 0x%08x", markMasq, 0))
	}
	want := uint32(0)
	if set {
		want = markMasq
	}
	return b.e(&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, markMasq), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, want)})
}

// markOp sets (or, with xor, toggles) the masquerade bit.
func (b *rb) markOp(xor bool) *rb {
	mask, x := ^uint32(markMasq), uint32(markMasq)
	if xor {
		mask = ^uint32(0)
		b.w(fmt.Sprintf("meta mark set meta mark ^ 0x%08x", markMasq))
	} else {
		b.w(fmt.Sprintf("meta mark set meta mark | 0x%08x", markMasq))
	}
	return b.e(&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, mask), Xor: binary.NativeEndian.AppendUint32(nil, x)},
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1, SourceRegister: true})
}

func (b *rb) masquerade() *rb {
	b.w("masquerade fully-random")
	return b.e(&expr.Masq{FullyRandom: true})
}

func (b *rb) verdict(kind expr.VerdictKind, chain string) *rule {
	switch kind {
	case expr.VerdictJump:
		b.w("jump " + chain)
	case expr.VerdictGoto:
		b.w("goto " + chain)
	case expr.VerdictDrop:
		b.w("drop")
	case expr.VerdictReturn:
		b.w("return")
	case expr.VerdictAccept:
		b.w("accept")
	}
	b.e(&expr.Verdict{Kind: kind, Chain: chain})
	return b.done()
}

func (b *rb) done() *rule {
	return &rule{text: strings.Join(b.words, " "), exprs: b.exprs}
}
