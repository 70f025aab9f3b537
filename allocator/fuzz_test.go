package allocator

import (
	"errors"
	"fmt"
	"testing"
)

// FuzzParsePortRange: any input either fails with ErrInvalidRange or gives
// lo ≤ hi that read back the same from their canonical form.
func FuzzParsePortRange(f *testing.F) {
	for _, s := range []string{"30000-32767", "80", " 1 - 2 ", "2-1", "65535-65536", "-", "", "1-2-3", "0-0", "+1-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi, err := ParsePortRange(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) {
				t.Fatalf("ParsePortRange(%q) error %v; want ErrInvalidRange", s, err)
			}
			return
		}
		if lo > hi {
			t.Fatalf("ParsePortRange(%q) = %d-%d; want lo ≤ hi", s, lo, hi)
		}
		canon := fmt.Sprintf("%d-%d", lo, hi)
		if lo2, hi2, err := ParsePortRange(canon); err != nil || lo2 != lo || hi2 != hi {
			t.Fatalf("ParsePortRange(%q) = %d-%d, %v; want %d-%d", canon, lo2, hi2, err, lo, hi)
		}
	})
}

// FuzzParseAddrRange: any input either fails with ErrInvalidRange or gives
// a valid range that holds both its ends and reads back the same from its
// String.
func FuzzParseAddrRange(f *testing.F) {
	for _, s := range []string{"192.168.10.0/24", "192.168.9.1-192.168.9.5", "2001:db8::/64", "::/0", "0.0.0.0/0",
		"10.0.0.1-10.0.0.1", "10.0.0.2-10.0.0.1", "::ffff:10.0.0.0/104", "fe80::1%eth0-fe80::2", "10.0.0.1-::1", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseAddrRange(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidRange) {
				t.Fatalf("ParseAddrRange(%q) error %v; want ErrInvalidRange", s, err)
			}
			return
		}
		if !r.IsValid() || !r.Contains(r.From) || !r.Contains(r.To) {
			t.Fatalf("ParseAddrRange(%q) = %v: not a valid range holding its ends", s, r)
		}
		if r2, err := ParseAddrRange(r.String()); err != nil || r2 != r {
			t.Fatalf("ParseAddrRange(%q) = %v, %v; want %v", r.String(), r2, err, r)
		}
	})
}
