package allocator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

func mkPool(name string, manual, avoid bool, ranges ...string) Pool {
	p := Pool{Name: name, ManualAssign: manual, AvoidBuggyIPs: avoid}
	for _, r := range ranges {
		p.Addresses = append(p.Addresses, MustParseAddrRange(r))
	}
	return p
}

func tcp(ports ...uint16) []PortProto {
	var out []PortProto
	for _, p := range ports {
		out = append(out, PortProto{TCP, p})
	}
	return out
}

func TestParseAddrRange(t *testing.T) {
	tests := []struct {
		in       string
		from, to string
		wantErr  bool
	}{
		{in: "192.168.10.0/24", from: "192.168.10.0", to: "192.168.10.255"},
		{in: "192.168.10.7/24", from: "192.168.10.0", to: "192.168.10.255"},
		{in: "42.176.25.64/32", from: "42.176.25.64", to: "42.176.25.64"},
		{in: "0.0.0.0/0", from: "0.0.0.0", to: "255.255.255.255"},
		{in: "192.168.9.1-192.168.9.5", from: "192.168.9.1", to: "192.168.9.5"},
		{in: " 10.0.0.9 - 10.0.0.9 ", from: "10.0.0.9", to: "10.0.0.9"},
		{in: "fc00:f853:ccd:e799::/124", from: "fc00:f853:ccd:e799::", to: "fc00:f853:ccd:e799::f"},
		{in: "fd00::/64", from: "fd00::", to: "fd00::ffff:ffff:ffff:ffff"},
		{in: "fd00::/60", from: "fd00::", to: "fd00:0:0:f:ffff:ffff:ffff:ffff"},
		{in: "::/0", from: "::", to: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{in: "fd00::1-fd00::1:0", from: "fd00::1", to: "fd00::1:0"},
		{in: "::ffff:10.0.0.1-::ffff:10.0.0.3", from: "10.0.0.1", to: "10.0.0.3"},
		{in: "::ffff:10.0.0.0/120", from: "10.0.0.0", to: "10.0.0.255"},
		{in: "10.0.0.5-10.0.0.1", wantErr: true},
		{in: "10.0.0.1-fd00::1", wantErr: true},
		{in: "fe80::1%eth0-fe80::2%eth0", wantErr: true},
		{in: "10.0.0.0/33", wantErr: true},
		{in: "pool", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAddrRange(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidRange) {
					t.Errorf("ParseAddrRange(%q) = %v, %v; want ErrInvalidRange", tt.in, got, err)
				}
				return
			}
			want := AddrRange{netip.MustParseAddr(tt.from), netip.MustParseAddr(tt.to)}
			if err != nil || got != want {
				t.Errorf("ParseAddrRange(%q) = %v, %v; want %v", tt.in, got, err, want)
			}
			if again, err := ParseAddrRange(got.String()); err != nil || again != got {
				t.Errorf("ParseAddrRange(%q) = %v, %v; want it to round-trip", got.String(), again, err)
			}
		})
	}
	if (AddrRange{}).IsValid() || (AddrRange{}).String() != "invalid AddrRange" || (AddrRange{}).Contains(netip.IPv4Unspecified()) {
		t.Errorf("zero AddrRange is valid or contains something")
	}
}

func TestNewIPRangeFromTo(t *testing.T) {
	tests := []struct {
		name        string
		from, to    string
		size        uint64
		first, last string
		outside     []string
		wantErr     error
	}{
		{name: "whole /24 keeps .0 and .255", from: "10.0.0.0", to: "10.0.0.255", size: 256,
			first: "10.0.0.0", last: "10.0.0.255", outside: []string{"9.255.255.255", "10.0.1.0", "fd00::"}},
		{name: "single", from: "10.0.0.7", to: "10.0.0.7", size: 1, first: "10.0.0.7", last: "10.0.0.7",
			outside: []string{"10.0.0.6", "10.0.0.8"}},
		{name: "v6 across the 64-bit boundary", from: "fd00::ffff:ffff:ffff:fffe", to: "fd00:0:0:1::1", size: 4,
			first: "fd00::ffff:ffff:ffff:fffe", last: "fd00:0:0:1::1", outside: []string{"fd00:0:0:1::2", "fd00::ffff:ffff:ffff:fffd", "fd01::"}},
		{name: "v6 top of space", from: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", to: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", size: 2,
			first: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", last: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
		{name: "v4 top of space", from: "255.255.255.254", to: "255.255.255.255", size: 2,
			first: "255.255.255.254", last: "255.255.255.255", outside: []string{"::ffff:255.255.255.255"}},
		{name: "largest v6", from: "fd00::1", to: "fd00::ffff:ffff:ffff:ffff", size: ^uint64(0),
			first: "fd00::1", last: "fd00::ffff:ffff:ffff:ffff", outside: []string{"fd00::", "fd00:0:0:1::"}},
		{name: "whole /64 too large", from: "fd00::", to: "fd00::ffff:ffff:ffff:ffff", wantErr: ErrRangeTooLarge},
		{name: "reversed", from: "10.0.0.2", to: "10.0.0.1", wantErr: ErrInvalidRange},
		{name: "mixed families", from: "10.0.0.1", to: "fd00::1", wantErr: ErrInvalidRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewIPRangeFromTo(netip.MustParseAddr(tt.from), netip.MustParseAddr(tt.to), Config{Strategy: LowestFree})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("NewIPRangeFromTo(%s, %s) = %v; want %v", tt.from, tt.to, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != tt.size {
				t.Errorf("Size = %d; want %d", r.Size(), tt.size)
			}
			// No static band: the lowest-free pick is the first address.
			if got, err := r.AllocateNext(); err != nil || got.String() != tt.first {
				t.Errorf("AllocateNext = %v, %v; want %s", got, err, tt.first)
			}
			if err := r.Allocate(netip.MustParseAddr(tt.last)); tt.last != tt.first && err != nil {
				t.Errorf("Allocate(%s) = %v; want nil", tt.last, err)
			}
			for _, o := range tt.outside {
				if err := r.Allocate(netip.MustParseAddr(o)); !errors.Is(err, ErrNotInRange) {
					t.Errorf("Allocate(%s) = %v; want ErrNotInRange", o, err)
				}
			}
			var got []string
			for a := range r.All() {
				got = append(got, a.String())
			}
			want := []string{tt.first}
			if tt.last != tt.first {
				want = append(want, tt.last)
			}
			if !slices.Equal(got, want) {
				t.Errorf("All = %v; want %v", got, want)
			}
			s := r.Snapshot()
			r2, _ := NewIPRangeFromTo(netip.MustParseAddr(tt.from), netip.MustParseAddr(tt.to), Config{})
			if err := r2.Restore(s); err != nil || !bytes.Equal(r2.Snapshot(), s) {
				t.Errorf("Restore = %v; want an identical round trip", err)
			}
		})
	}
}

func TestAvoidBuggyRange(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		want     []string // every address, in order
	}{
		{"across a /24", "10.0.0.252", "10.0.1.2", []string{"10.0.0.252", "10.0.0.253", "10.0.0.254", "10.0.1.1", "10.0.1.2"}},
		{"ends buggy", "10.0.0.255", "10.0.2.0", nil},
		{"only buggy", "10.0.0.255", "10.0.1.0", nil},
		{"from .0", "10.0.3.0", "10.0.3.2", []string{"10.0.3.1", "10.0.3.2"}},
		{"bottom of space", "0.0.0.0", "0.0.0.1", []string{"0.0.0.1"}},
		{"top of space", "255.255.255.253", "255.255.255.255", []string{"255.255.255.253", "255.255.255.254"}},
	}
	tests[1].want = make([]string, 0, 254)
	for i := 1; i <= 254; i++ {
		tests[1].want = append(tests[1].want, fmt.Sprintf("10.0.1.%d", i))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := newIPRangeFromTo(netip.MustParseAddr(tt.from), netip.MustParseAddr(tt.to), true, false, Config{Strategy: LowestFree})
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != uint64(len(tt.want)) {
				t.Fatalf("Size = %d; want %d", r.Size(), len(tt.want))
			}
			var got []string
			for {
				a, err := r.AllocateNext()
				if errors.Is(err, ErrFull) {
					break
				}
				got = append(got, a.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("AllocateNext sequence = %v; want %v", got, tt.want)
			}
			from, to := netip.MustParseAddr(tt.from), netip.MustParseAddr(tt.to)
			for a := from; !to.Less(a) && a.IsValid(); a = a.Next() {
				want := a.As4()[3] != 0 && a.As4()[3] != 255
				if r.Contains(a) != want || r.Has(a) != want {
					t.Errorf("Contains(%v), Has(%v) = %v, %v; want %v", a, a, r.Contains(a), r.Has(a), want)
				}
			}
		})
	}
}

func TestNewLBAllocatorErrors(t *testing.T) {
	tests := []struct {
		name  string
		pools []Pool
		want  error
	}{
		{"empty name", []Pool{mkPool("", false, false, "10.0.0.0/24")}, ErrInvalidPool},
		{"duplicate name", []Pool{mkPool("a", false, false, "10.0.0.0/24"), mkPool("a", false, false, "10.0.1.0/24")}, ErrInvalidPool},
		{"no addresses", []Pool{{Name: "a"}}, ErrInvalidPool},
		{"overlap within a pool", []Pool{mkPool("a", false, false, "10.0.0.0/24", "10.0.0.200-10.0.1.5")}, ErrInvalidPool},
		{"overlap across pools", []Pool{mkPool("a", false, false, "fd00::/120"), mkPool("b", true, false, "fd00::ff-fd00::1ff")}, ErrInvalidPool},
		{"invalid range", []Pool{{Name: "a", Addresses: []AddrRange{{}}}}, ErrInvalidRange},
		{"larger than a /64", []Pool{mkPool("a", false, false, "fd00::/63")}, ErrRangeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewLBAllocator(tt.pools...); !errors.Is(err, tt.want) {
				t.Errorf("NewLBAllocator(%s) = %v; want %v", tt.name, err, tt.want)
			}
		})
	}
	if _, err := NewLBAllocator(mkPool("a", false, false, "10.0.0.0/24"), mkPool("b", false, false, "10.0.1.0/24", "fd00::/64")); err != nil {
		t.Errorf("NewLBAllocator(adjacent, v6 /64) = %v; want nil", err)
	}
}

type lbStep struct {
	svc string
	req LBRequest
}

func TestLBAssign(t *testing.T) {
	ip := netip.MustParseAddr
	twoPools := []Pool{
		mkPool("cheap", false, false, "192.168.10.0/30", "192.168.20.5-192.168.20.6"),
		mkPool("expensive", true, false, "42.176.25.64/30"),
	}
	shared := func(svc, key string, ports ...uint16) lbStep {
		return lbStep{svc, LBRequest{SharingKey: key, Ports: tcp(ports...)}}
	}
	tests := []struct {
		name    string
		pools   []Pool
		before  []lbStep
		svc     string
		req     LBRequest
		want    string
		wantErr error
	}{
		{name: "auto takes the lowest of the first pool, network address included", pools: twoPools,
			svc: "a", want: "192.168.10.0"},
		{name: "auto moves on to the next range", pools: twoPools,
			before: []lbStep{{"a", LBRequest{}}, {"b", LBRequest{}}, {"c", LBRequest{}}, {"d", LBRequest{}}},
			svc:    "e", want: "192.168.20.5"},
		{name: "auto never takes a manual pool", pools: twoPools,
			before: []lbStep{{"a", LBRequest{}}, {"b", LBRequest{}}, {"c", LBRequest{}}, {"d", LBRequest{}}, {"e", LBRequest{}}, {"f", LBRequest{}}},
			svc:    "g", wantErr: ErrPoolFull},
		{name: "manual pool serves a request by name", pools: twoPools,
			svc: "a", req: LBRequest{Pool: "expensive"}, want: "42.176.25.64"},
		{name: "manual pool serves a request by address", pools: twoPools,
			svc: "a", req: LBRequest{Addr: ip("42.176.25.66")}, want: "42.176.25.66"},
		{name: "requested address in no pool", pools: twoPools,
			svc: "a", req: LBRequest{Addr: ip("192.168.20.7")}, wantErr: ErrNotInPool},
		{name: "requested address in another pool than named", pools: twoPools,
			svc: "a", req: LBRequest{Addr: ip("192.168.10.1"), Pool: "expensive"}, wantErr: ErrNotInPool},
		{name: "requested address in the named pool", pools: twoPools,
			svc: "a", req: LBRequest{Addr: ip("::ffff:42.176.25.67"), Pool: "expensive"}, want: "42.176.25.67"},
		{name: "unknown pool", pools: twoPools,
			svc: "a", req: LBRequest{Pool: "gold"}, wantErr: ErrUnknownPool},
		{name: "named pool full", pools: twoPools,
			before: []lbStep{{"a", LBRequest{Pool: "expensive"}}, {"b", LBRequest{Pool: "expensive"}}, {"c", LBRequest{Pool: "expensive"}}, {"d", LBRequest{Pool: "expensive"}}},
			svc:    "e", req: LBRequest{Pool: "expensive"}, wantErr: ErrPoolFull},
		{name: "avoidBuggyIPs skips .0 on auto", pools: []Pool{mkPool("p", false, true, "10.0.0.0/24")},
			svc: "a", want: "10.0.0.1"},
		{name: "avoidBuggyIPs refuses a requested .255", pools: []Pool{mkPool("p", false, true, "10.0.0.0/23")},
			svc: "a", req: LBRequest{Addr: ip("10.0.0.255")}, wantErr: ErrNotInPool},
		{name: "avoidBuggyIPs goes from .254 to the next .1", pools: []Pool{mkPool("p", false, true, "10.0.0.254-10.0.1.1")},
			before: []lbStep{{"a", LBRequest{}}},
			svc:    "b", want: "10.0.1.1"},
		{name: "avoidBuggyIPs leaves IPv6 alone", pools: []Pool{mkPool("p", false, true, "fd00::/120")},
			svc: "a", want: "fd00::"},
		{name: "same key, different ports: shared", pools: twoPools,
			before: []lbStep{shared("a", "k", 80)},
			svc:    "b", req: LBRequest{Addr: ip("192.168.10.0"), SharingKey: "k", Ports: tcp(443)}, want: "192.168.10.0"},
		{name: "same key, same port: conflict", pools: twoPools,
			before: []lbStep{shared("a", "k", 80, 443)},
			svc:    "b", req: LBRequest{Addr: ip("192.168.10.0"), SharingKey: "k", Ports: tcp(443)}, wantErr: ErrPortConflict},
		{name: "same port number, other protocol: shared", pools: twoPools,
			before: []lbStep{shared("dns-tcp", "dns", 53)},
			svc:    "dns-udp", req: LBRequest{Addr: ip("192.168.10.0"), SharingKey: "dns", Ports: []PortProto{{UDP, 53}}}, want: "192.168.10.0"},
		{name: "zero protocol is TCP", pools: twoPools,
			before: []lbStep{shared("a", "k", 80)},
			svc:    "b", req: LBRequest{Addr: ip("192.168.10.0"), SharingKey: "k", Ports: []PortProto{{Port: 80}}}, wantErr: ErrPortConflict},
		{name: "different key", pools: twoPools,
			before: []lbStep{shared("a", "k", 80)},
			svc:    "b", req: LBRequest{Addr: ip("192.168.10.0"), SharingKey: "other", Ports: tcp(443)}, wantErr: ErrInUse},
		{name: "requester has no key", pools: twoPools,
			before: []lbStep{shared("a", "k", 80)},
			svc:    "b", req: LBRequest{Addr: ip("192.168.10.0"), Ports: tcp(443)}, wantErr: ErrInUse},
		{name: "holder has no key", pools: twoPools,
			before: []lbStep{{"a", LBRequest{Ports: tcp(80)}}},
			svc:    "b", req: LBRequest{Addr: ip("192.168.10.0"), SharingKey: "k", Ports: tcp(443)}, wantErr: ErrInUse},
		{name: "different backends", pools: twoPools,
			before: []lbStep{{"a", LBRequest{SharingKey: "k", BackendKey: "app=web", Ports: tcp(80)}}},
			svc:    "b", req: LBRequest{Addr: ip("192.168.10.0"), SharingKey: "k", Ports: tcp(443)}, wantErr: ErrInUse},
		{name: "same backends", pools: twoPools,
			before: []lbStep{{"a", LBRequest{SharingKey: "k", BackendKey: "app=web", Ports: tcp(80)}}},
			svc:    "b", req: LBRequest{Addr: ip("192.168.10.0"), SharingKey: "k", BackendKey: "app=web", Ports: tcp(443)}, want: "192.168.10.0"},
		{name: "auto with a key joins a compatible address", pools: twoPools,
			before: []lbStep{{"x", LBRequest{}}, shared("a", "k", 80)},
			svc:    "b", req: LBRequest{SharingKey: "k", Ports: tcp(443)}, want: "192.168.10.1"},
		{name: "auto with a key skips a conflicting address", pools: twoPools,
			before: []lbStep{shared("a", "k", 80)},
			svc:    "b", req: LBRequest{SharingKey: "k", Ports: tcp(80)}, want: "192.168.10.1"},
		{name: "auto with a key does not join a manual pool", pools: twoPools,
			before: []lbStep{{"a", LBRequest{Pool: "expensive", SharingKey: "k", Ports: tcp(80)}}},
			svc:    "b", req: LBRequest{SharingKey: "k", Ports: tcp(443)}, want: "192.168.10.0"},
		{name: "named manual pool with a key joins", pools: twoPools,
			before: []lbStep{{"a", LBRequest{Pool: "expensive", SharingKey: "k", Ports: tcp(80)}}},
			svc:    "b", req: LBRequest{Pool: "expensive", SharingKey: "k", Ports: tcp(443)}, want: "42.176.25.64"},
		{name: "IPv6 request takes the IPv6 pool", pools: []Pool{mkPool("v4", false, false, "10.0.0.0/30"), mkPool("v6", false, false, "fd00::10-fd00::20")},
			svc: "a", req: LBRequest{Family: IPv6}, want: "fd00::10"},
		{name: "IPv6 request with only IPv4 pools", pools: twoPools,
			svc: "a", req: LBRequest{Family: IPv6}, wantErr: ErrPoolFull},
		{name: "family and address disagree", pools: twoPools,
			svc: "a", req: LBRequest{Family: IPv6, Addr: ip("192.168.10.1")}, wantErr: ErrNotInPool},
		{name: "whole /64 pool", pools: []Pool{mkPool("v6", false, false, "fd00:1::/64")},
			svc: "a", req: LBRequest{Addr: ip("fd00:1::ffff:ffff:ffff:ffff")}, want: "fd00:1::ffff:ffff:ffff:ffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewLBAllocator(tt.pools...)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.before {
				if _, err := a.Assign(s.svc, s.req); err != nil {
					t.Fatalf("setup Assign(%q, %+v) = %v", s.svc, s.req, err)
				}
			}
			before := a.Snapshot()
			got, err := a.Assign(tt.svc, tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Assign(%q, %+v) = %v, %v; want %v", tt.svc, tt.req, got, err, tt.wantErr)
				}
				if !bytes.Equal(a.Snapshot(), before) {
					t.Errorf("failed Assign changed the allocator")
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("Assign(%q, %+v) = %v, %v; want %s", tt.svc, tt.req, got, err, tt.want)
			}
			if users := a.Users(got); !slices.Contains(users, tt.svc) {
				t.Errorf("Users(%v) = %v; want it to include %q", got, users, tt.svc)
			}
		})
	}
}

// TestLBReassign pins what a second Assign for one service does.
func TestLBReassign(t *testing.T) {
	ip := netip.MustParseAddr
	newA := func(t *testing.T) *LBAllocator {
		a, err := NewLBAllocator(mkPool("p", false, false, "10.0.0.0/29"), mkPool("m", true, false, "10.0.1.0/29"),
			mkPool("v6", false, false, "fd00::/125"))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	assign := func(t *testing.T, a *LBAllocator, svc string, req LBRequest, want string) {
		t.Helper()
		if got, err := a.Assign(svc, req); err != nil || got.String() != want {
			t.Fatalf("Assign(%q, %+v) = %v, %v; want %s", svc, req, got, err, want)
		}
	}
	t.Run("idempotent", func(t *testing.T) {
		a := newA(t)
		assign(t, a, "a", LBRequest{}, "10.0.0.0")
		assign(t, a, "b", LBRequest{}, "10.0.0.1")
		assign(t, a, "a", LBRequest{}, "10.0.0.0")
		if st := a.Stats()[0]; st.Used != 2 || st.Size != 8 || st.Free != 6 {
			t.Errorf("Stats = %+v; want Used 2 of 8", st)
		}
	})
	t.Run("pool change moves and frees", func(t *testing.T) {
		a := newA(t)
		assign(t, a, "a", LBRequest{}, "10.0.0.0")
		assign(t, a, "a", LBRequest{Pool: "m"}, "10.0.1.0")
		if a.Users(ip("10.0.0.0")) != nil || !slices.Equal(a.Addrs("a"), []netip.Addr{ip("10.0.1.0")}) {
			t.Errorf("after move: Users(10.0.0.0) = %v, Addrs = %v", a.Users(ip("10.0.0.0")), a.Addrs("a"))
		}
	})
	t.Run("failed move keeps the old address", func(t *testing.T) {
		a := newA(t)
		assign(t, a, "a", LBRequest{}, "10.0.0.0")
		assign(t, a, "b", LBRequest{}, "10.0.0.1")
		if _, err := a.Assign("a", LBRequest{Addr: ip("10.0.0.1")}); !errors.Is(err, ErrInUse) {
			t.Fatalf("Assign(a, 10.0.0.1) = %v; want ErrInUse", err)
		}
		if !slices.Equal(a.Addrs("a"), []netip.Addr{ip("10.0.0.0")}) {
			t.Errorf("Addrs(a) = %v; want [10.0.0.0]", a.Addrs("a"))
		}
	})
	t.Run("ports now conflict: auto moves, requested fails", func(t *testing.T) {
		a := newA(t)
		assign(t, a, "a", LBRequest{SharingKey: "k", Ports: tcp(80)}, "10.0.0.0")
		assign(t, a, "b", LBRequest{SharingKey: "k", Ports: tcp(443)}, "10.0.0.0")
		if _, err := a.Assign("b", LBRequest{Addr: ip("10.0.0.0"), SharingKey: "k", Ports: tcp(80)}); !errors.Is(err, ErrPortConflict) {
			t.Fatalf("Assign(b, 10.0.0.0, TCP/80) = %v; want ErrPortConflict", err)
		}
		assign(t, a, "b", LBRequest{SharingKey: "k", Ports: tcp(80)}, "10.0.0.1")
		if !slices.Equal(a.Users(ip("10.0.0.0")), []string{"a"}) {
			t.Errorf("Users(10.0.0.0) = %v; want [a]", a.Users(ip("10.0.0.0")))
		}
	})
	t.Run("sole holder may change its key", func(t *testing.T) {
		a := newA(t)
		assign(t, a, "a", LBRequest{SharingKey: "k"}, "10.0.0.0")
		assign(t, a, "a", LBRequest{SharingKey: "j"}, "10.0.0.0")
		assign(t, a, "b", LBRequest{SharingKey: "j", Ports: tcp(1)}, "10.0.0.0")
		if _, err := a.Assign("c", LBRequest{Addr: ip("10.0.0.0"), SharingKey: "k"}); !errors.Is(err, ErrInUse) {
			t.Errorf("Assign(c, key k) = %v; want ErrInUse", err)
		}
	})
	t.Run("one address per family", func(t *testing.T) {
		a := newA(t)
		assign(t, a, "a", LBRequest{Family: IPv4}, "10.0.0.0")
		assign(t, a, "a", LBRequest{Family: IPv6}, "fd00::")
		assign(t, a, "a", LBRequest{}, "10.0.0.0") // either family: the held one
		if got := a.Addrs("a"); !slices.Equal(got, []netip.Addr{ip("10.0.0.0"), ip("fd00::")}) {
			t.Errorf("Addrs(a) = %v; want both families", got)
		}
		assign(t, a, "a", LBRequest{Addr: ip("fd00::5")}, "fd00::5")
		if a.Users(ip("fd00::")) != nil || len(a.Addrs("a")) != 2 {
			t.Errorf("after IPv6 move: Users(fd00::) = %v, Addrs = %v", a.Users(ip("fd00::")), a.Addrs("a"))
		}
	})
	t.Run("release frees the last holder only", func(t *testing.T) {
		a := newA(t)
		assign(t, a, "a", LBRequest{SharingKey: "k", Ports: tcp(80)}, "10.0.0.0")
		assign(t, a, "b", LBRequest{SharingKey: "k", Ports: tcp(81)}, "10.0.0.0")
		a.Release("a")
		a.Release("nobody")
		if !slices.Equal(a.Users(ip("10.0.0.0")), []string{"b"}) || a.Stats()[0].Used != 1 {
			t.Errorf("after Release(a): Users = %v, Stats = %+v", a.Users(ip("10.0.0.0")), a.Stats()[0])
		}
		a.Release("b")
		if a.Users(ip("10.0.0.0")) != nil || a.Stats()[0].Used != 0 || a.Addrs("b") != nil {
			t.Errorf("after Release(b): Users = %v, Stats = %+v", a.Users(ip("10.0.0.0")), a.Stats()[0])
		}
		assign(t, a, "c", LBRequest{}, "10.0.0.0")
	})
	t.Run("pool of", func(t *testing.T) {
		a := newA(t)
		for _, c := range []struct {
			addr, pool string
			ok         bool
		}{{"10.0.0.7", "p", true}, {"10.0.1.0", "m", true}, {"fd00::7", "v6", true}, {"10.0.0.8", "", false}} {
			if p, ok := a.PoolOf(ip(c.addr)); p != c.pool || ok != c.ok {
				t.Errorf("PoolOf(%s) = %q, %v; want %q, %v", c.addr, p, ok, c.pool, c.ok)
			}
		}
	})
}

func TestLBStatsWholeSlash64(t *testing.T) {
	a, err := NewLBAllocator(mkPool("v6", false, false, "fd00::/64"), mkPool("small", false, true, "10.0.0.0/23"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := a.Assign(fmt.Sprint(rand.Int()), LBRequest{Family: IPv6}); err != nil {
			t.Fatal(err)
		}
	}
	st := a.Stats()
	want := []PoolStats{{"v6", ^uint64(0), 3, ^uint64(0) - 3}, {"small", 508, 0, 508}}
	if !slices.Equal(st, want) {
		t.Errorf("Stats = %+v; want %+v", st, want)
	}
}

func lbFixture(t testing.TB) *LBAllocator {
	t.Helper()
	a, err := NewLBAllocator(mkPool("p", false, true, "10.0.0.0/24", "10.0.1.10-10.0.1.20"), mkPool("m", true, false, "fd00::/64"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []lbStep{
		{"ns/web", LBRequest{SharingKey: "web", Ports: tcp(80)}},
		{"ns/web-tls", LBRequest{SharingKey: "web", Ports: tcp(443)}},
		{"ns/dns", LBRequest{SharingKey: "dns", BackendKey: "app=dns", Ports: []PortProto{{UDP, 53}, {TCP, 53}}}},
		{"ns/dns", LBRequest{Family: IPv6, Pool: "m"}},
		{"ns/api", LBRequest{Addr: netip.MustParseAddr("10.0.1.15")}},
	}
	for _, s := range steps {
		if _, err := a.Assign(s.svc, s.req); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func TestLBSnapshotRoundTrip(t *testing.T) {
	a := lbFixture(t)
	s1 := a.Snapshot()
	b := lbFixture(t)
	b.Release("ns/web")
	_, _ = b.Assign("ns/other", LBRequest{})
	if err := b.Restore(s1); err != nil {
		t.Fatalf("Restore = %v", err)
	}
	if s2 := b.Snapshot(); !bytes.Equal(s1, s2) {
		t.Errorf("snapshot → restore → snapshot differs")
	}
	if !slices.Equal(b.Stats(), a.Stats()) || b.Addrs("ns/other") != nil {
		t.Errorf("restored Stats = %+v, Addrs(ns/other) = %v; want %+v, none", b.Stats(), b.Addrs("ns/other"), a.Stats())
	}
	// The restored state keeps enforcing the rules it was built with.
	if _, err := b.Assign("ns/x", LBRequest{Addr: netip.MustParseAddr("10.0.0.1"), SharingKey: "web", Ports: tcp(80)}); !errors.Is(err, ErrPortConflict) {
		t.Errorf("Assign on restored shared address = %v; want ErrPortConflict", err)
	}
	empty, _ := NewLBAllocator(mkPool("p", false, true, "10.0.0.0/24", "10.0.1.10-10.0.1.20"), mkPool("m", true, false, "fd00::/64"))
	if err := empty.Restore(empty.Snapshot()); err != nil {
		t.Errorf("Restore(empty) = %v", err)
	}
}

// lbBlob builds a snapshot of a's pools from hand-made entries, to reach the checks
// behind the checksum.
func lbBlob(a *LBAllocator, n uint64, entries ...func([]byte) []byte) []byte {
	buf := append([]byte(lbSnapMagic), lbSnapVersion)
	buf = appendStr(buf, a.id)
	buf = binary.AppendUvarint(buf, n)
	for _, e := range entries {
		buf = e(buf)
	}
	return snapshotSeal(buf)
}

func entry(svc, addr, key string, ports ...PortProto) func([]byte) []byte {
	return func(b []byte) []byte {
		b = appendStr(b, svc)
		x := netip.MustParseAddr(addr)
		b = appendStr(b, string(x.AsSlice()))
		b = appendStr(b, key)
		b = appendStr(b, "")
		b = binary.AppendUvarint(b, uint64(len(ports)))
		for _, p := range ports {
			b = binary.AppendUvarint(b, uint64(p.Protocol))
			b = binary.AppendUvarint(b, uint64(p.Port))
		}
		return b
	}
}

func TestLBRestoreErrors(t *testing.T) {
	a := lbFixture(t)
	good := a.Snapshot()
	other, _ := NewLBAllocator(mkPool("p", false, false, "10.0.0.0/24", "10.0.1.10-10.0.1.20"), mkPool("m", true, false, "fd00::/64"))
	badVer := bytes.Clone(good)
	badVer[4] = 9
	badVer = reseal(badVer)
	tests := []struct {
		name string
		blob []byte
		want error
	}{
		{"other pools (flag differs)", other.Snapshot(), ErrMismatchedRange},
		{"ip range snapshot", func() []byte { r, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/24"), Config{}); return r.Snapshot() }(), ErrCorruptSnapshot},
		{"truncated", good[:len(good)-5], ErrCorruptSnapshot},
		{"unknown version", badVer, ErrUnknownVersion},
		{"billions of entries", lbBlob(a, 1<<40, entry("a", "10.0.0.1", "")), ErrCorruptSnapshot},
		{"address in no pool", lbBlob(a, 1, entry("a", "10.9.0.1", "")), ErrCorruptSnapshot},
		{"buggy address", lbBlob(a, 1, entry("a", "10.0.0.255", "")), ErrCorruptSnapshot},
		{"shared without key", lbBlob(a, 2, entry("a", "10.0.0.1", ""), entry("b", "10.0.0.1", "")), ErrCorruptSnapshot},
		{"shared with port clash", lbBlob(a, 2, entry("a", "10.0.0.1", "k", PortProto{TCP, 80}), entry("b", "10.0.0.1", "k", PortProto{TCP, 80})), ErrCorruptSnapshot},
		{"two addresses of one family", lbBlob(a, 2, entry("a", "10.0.0.1", ""), entry("a", "10.0.0.2", "")), ErrCorruptSnapshot},
		{"entries out of order", lbBlob(a, 2, entry("b", "10.0.0.1", ""), entry("a", "10.0.0.2", "")), ErrCorruptSnapshot},
		{"ports unsorted", lbBlob(a, 1, entry("a", "10.0.0.1", "", PortProto{UDP, 1}, PortProto{TCP, 1})), ErrCorruptSnapshot},
		{"port too large", lbBlob(a, 1, func(b []byte) []byte {
			b = entry("a", "10.0.0.1", "")(b)
			b[len(b)-1] = 1 // one port
			b = binary.AppendUvarint(b, uint64(TCP))
			return binary.AppendUvarint(b, 70000)
		}), ErrCorruptSnapshot},
		{"unknown protocol", lbBlob(a, 1, entry("a", "10.0.0.1", "", PortProto{Protocol(3), 1})), ErrCorruptSnapshot},
		{"trailing bytes", lbBlob(a, 1, entry("a", "10.0.0.1", ""), entry("b", "10.0.0.2", "")), ErrCorruptSnapshot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lbFixture(t)
			before := b.Snapshot()
			if err := b.Restore(tt.blob); !errors.Is(err, tt.want) {
				t.Errorf("Restore(%s) = %v; want %v", tt.name, err, tt.want)
			}
			if !bytes.Equal(b.Snapshot(), before) {
				t.Errorf("failed Restore(%s) changed the allocator", tt.name)
			}
		})
	}
	ok := lbBlob(a, 2, entry("a", "10.0.0.1", "k", PortProto{TCP, 80}), entry("b", "10.0.0.1", "k", PortProto{UDP, 80}))
	if err := a.Restore(ok); err != nil || !slices.Equal(a.Users(netip.MustParseAddr("10.0.0.1")), []string{"a", "b"}) {
		t.Errorf("Restore(hand-made shared) = %v, Users = %v; want nil, [a b]", err, a.Users(netip.MustParseAddr("10.0.0.1")))
	}
}

func FuzzLBRestore(f *testing.F) {
	a := lbFixture(f)
	f.Add(a.Snapshot())
	f.Add(lbBlob(a, 2, entry("a", "10.0.0.1", "k", PortProto{TCP, 80}), entry("b", "10.0.0.1", "k", PortProto{UDP, 80})))
	f.Add(lbBlob(a, 1<<40))
	f.Add([]byte("SVCL\x01"))
	f.Fuzz(func(t *testing.T, blob []byte) {
		restoreHolds(t, func() *LBAllocator { return lbFixture(t) }, blob)
	})
}

// TestLBConcurrent has services that share keys pairwise assign and release from many
// goroutines; afterwards every address's holders must obey the sharing rules and the
// counts must match what the services hold.
func TestLBConcurrent(t *testing.T) {
	a, err := NewLBAllocator(mkPool("p", false, true, "10.0.0.250-10.0.1.10"), mkPool("v6", false, false, "fd00::/120"))
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 8, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range rounds {
				svc := fmt.Sprintf("w%d/s%d", w, rng.IntN(20))
				req := LBRequest{SharingKey: fmt.Sprintf("k%d", rng.IntN(3)), Ports: tcp(uint16(rng.IntN(4)))}
				if i%5 == 0 {
					req.Family = IPv6
				}
				if rng.IntN(4) == 0 {
					a.Release(svc)
					continue
				}
				got, err := a.Assign(svc, req)
				if errors.Is(err, ErrPoolFull) {
					continue
				}
				if err != nil {
					t.Errorf("Assign(%q) = %v", svc, err)
					return
				}
				if !slices.Contains(a.Users(got), svc) {
					t.Errorf("Assign(%q) = %v but Users lacks it", svc, got)
				}
			}
		}()
	}
	wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.st
	held := 0
	for svc, h := range st.svcs {
		for _, x := range h {
			if !x.IsValid() {
				continue
			}
			held++
			if _, ok := st.addrs[x].users[svc]; !ok {
				t.Errorf("%q holds %v but is not among its users", svc, x)
			}
		}
	}
	users := 0
	for x, rec := range st.addrs {
		users += len(rec.users)
		if len(rec.users) > 1 && rec.key == "" {
			t.Errorf("%v shared without a key by %v", x, rec.users)
		}
		seen := map[PortProto]string{}
		for s, ps := range rec.users {
			for _, p := range ps {
				if o, dup := seen[p]; dup {
					t.Errorf("%v: %v used by %q and %q", x, p, o, s)
				}
				seen[p] = s
			}
		}
		if !st.ranges[rec.pool][rec.rng].Has(x) {
			t.Errorf("%v held but not allocated in its range", x)
		}
	}
	var used uint64
	for _, rs := range st.ranges {
		for _, r := range rs {
			_, u := r.c.counts()
			used += u
		}
	}
	if held != users || used != uint64(len(st.addrs)) {
		t.Errorf("held %d, users %d, allocated %d, addresses %d; want held = users, allocated = addresses", held, users, used, len(st.addrs))
	}
}

func BenchmarkLBAssignRelease(b *testing.B) {
	a, _ := NewLBAllocator(mkPool("p", false, true, "10.0.0.0/16"))
	for i := range 60000 {
		if _, err := a.Assign(fmt.Sprint(i), LBRequest{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Assign("x", LBRequest{SharingKey: "k", Ports: tcp(80)}); err != nil {
			b.Fatal(err)
		}
		a.Release("x")
	}
}

func TestPortProtoString(t *testing.T) {
	for _, tt := range []struct {
		p    PortProto
		want string
	}{
		{PortProto{Protocol: UDP, Port: 53}, "UDP/53"},
		{PortProto{Port: 80}, "TCP/80"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q; want %q", tt.p, got, tt.want)
		}
	}
}

// TestLBRestoreVersion1 reads a snapshot written before protocols became numbers
// (version 1 spelled them "TCP", "UDP"), as a state file from before keeps them.
func TestLBRestoreVersion1(t *testing.T) {
	a := lbFixture(t)
	v1 := func(proto string) []byte {
		buf := append([]byte(lbSnapMagic), 1)
		buf = appendStr(buf, a.id)
		buf = binary.AppendUvarint(buf, 1)
		buf = appendStr(buf, "ns/dns")
		buf = appendStr(buf, string(netip.MustParseAddr("10.0.0.7").AsSlice()))
		buf = appendStr(buf, "dns")
		buf = appendStr(buf, "")
		buf = binary.AppendUvarint(buf, 1)
		buf = appendStr(buf, proto)
		buf = binary.AppendUvarint(buf, 53)
		return snapshotSeal(buf)
	}
	b := lbFixture(t)
	if err := b.Restore(v1("UDP")); err != nil {
		t.Fatalf("Restore(version 1) = %v", err)
	}
	if got := b.Addrs("ns/dns"); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("10.0.0.7")}) {
		t.Errorf("Addrs after version-1 restore = %v", got)
	}
	// The port came back as UDP/53: TCP/53 may share the address, UDP/53 may not.
	if _, err := b.Assign("ns/dns-tcp", LBRequest{Addr: netip.MustParseAddr("10.0.0.7"), SharingKey: "dns", Ports: []PortProto{{TCP, 53}}}); err != nil {
		t.Errorf("Assign(TCP/53 beside restored UDP/53) = %v", err)
	}
	if _, err := b.Assign("ns/dns-udp", LBRequest{Addr: netip.MustParseAddr("10.0.0.7"), SharingKey: "dns", Ports: []PortProto{{UDP, 53}}}); !errors.Is(err, ErrPortConflict) {
		t.Errorf("Assign(UDP/53 beside restored UDP/53) = %v; want ErrPortConflict", err)
	}
	for _, bad := range []string{"", "udp"} {
		if err := lbFixture(t).Restore(v1(bad)); !errors.Is(err, ErrCorruptSnapshot) {
			t.Errorf("Restore(version 1, protocol %q) = %v; want ErrCorruptSnapshot", bad, err)
		}
	}
}
