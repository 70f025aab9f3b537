// Package flagx holds the flag.Value types the example programs share:
// comma-separated lists of strings, CIDRs and address ranges, parsed when
// the flag set parses, so that a bad value is reported by the flag package
// with the flag's name and the programs never convert text afterwards.
package flagx

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/svcnet/svcnet/allocator"
)

// Strings returns a flag.Value that sets *dst to the comma-separated,
// space-trimmed, non-empty items of the flag's text.
func Strings(dst *[]string) flag.Value {
	return &list[string]{dst, func(s string) (string, error) { return s, nil }, func(s string) string { return s }}
}

// Prefixes returns a flag.Value that sets *dst to comma-separated CIDRs.
// A CIDR with host bits set ("10.96.0.1/16") is refused: it is almost
// always a typo for an address, and a range must say where it starts.
func Prefixes(dst *[]netip.Prefix) flag.Value {
	return &list[netip.Prefix]{dst, parsePrefix, netip.Prefix.String}
}

// AddrRanges returns a flag.Value that sets *dst to comma-separated
// address ranges, each a CIDR or start-end (allocator.ParseAddrRange).
func AddrRanges(dst *[]allocator.AddrRange) flag.Value {
	return &list[allocator.AddrRange]{dst, allocator.ParseAddrRange, allocator.AddrRange.String}
}

func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR without host bits", s)
	}
	return p, nil
}

// list is a comma-separated flag of items of one type. A flag given twice
// keeps the last list, as a plain string flag keeps its last value.
type list[T any] struct {
	dst    *[]T
	parse  func(string) (T, error)
	format func(T) string
}

func (l *list[T]) Set(s string) error {
	var out []T
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := l.parse(f)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	*l.dst = out
	return nil
}

// String joins the items with commas. The flag package also calls it on a
// zero list (no dst) to tell whether a default is worth printing.
func (l *list[T]) String() string {
	if l.dst == nil {
		return ""
	}
	items := make([]string, len(*l.dst))
	for i, v := range *l.dst {
		items[i] = l.format(v)
	}
	return strings.Join(items, ",")
}
