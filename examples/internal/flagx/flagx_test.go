package flagx_test

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/examples/internal/flagx"
)

func TestLists(t *testing.T) {
	for _, tc := range []struct {
		name, arg, want, wantErr string
	}{
		{"one CIDR", "10.96.0.0/16", "10.96.0.0/16", ""},
		{"dual stack, spaces and empty items", " 10.96.0.0/16 ,, fd00:96::/112,", "10.96.0.0/16,fd00:96::/112", ""},
		{"empty text clears the default", "", "", ""},
		{"host bits", "10.96.0.1/16", "", `invalid value "10.96.0.1/16" for flag -cidrs: "10.96.0.1/16" is not a CIDR without host bits`},
		{"not a CIDR", "10.96.0.0", "", `"10.96.0.0" is not a CIDR`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} // a default
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.Var(flagx.Prefixes(&got), "cidrs", "")
			err := fs.Parse([]string{"-cidrs", tc.arg})
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("-cidrs %q: err %v; want %q", tc.arg, err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("-cidrs %q: %v", tc.arg, err)
			case fs.Lookup("cidrs").Value.String() != tc.want:
				t.Errorf("-cidrs %q = %q; want %q", tc.arg, fs.Lookup("cidrs").Value, tc.want)
			}
		})
	}
}

func TestStringsAndRanges(t *testing.T) {
	var eps []string
	var pool []allocator.AddrRange
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(flagx.Strings(&eps), "etcd", "")
	fs.Var(flagx.AddrRanges(&pool), "pool", "")
	if err := fs.Parse([]string{"-etcd", "http://a:2379, http://b:2379", "-pool", "203.0.113.0/28,198.51.100.1-198.51.100.9"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://a:2379", "http://b:2379"}; !slices.Equal(eps, want) {
		t.Errorf("-etcd = %q; want %q", eps, want)
	}
	want := []allocator.AddrRange{allocator.MustParseAddrRange("203.0.113.0/28"), allocator.MustParseAddrRange("198.51.100.1-198.51.100.9")}
	if !slices.Equal(pool, want) {
		t.Errorf("-pool = %v; want %v", pool, want)
	}
	if err := fs.Parse([]string{"-pool", "nonsense"}); err == nil {
		t.Error(`-pool "nonsense" parsed`)
	}
}

// The flag package prints a list's default in -h, and no default for an
// empty one.
func TestDefaults(t *testing.T) {
	cidrs := []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}
	var none []netip.Prefix
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var help strings.Builder
	fs.SetOutput(&help)
	fs.Var(flagx.Prefixes(&cidrs), "service-cidr", "service `CIDRs`")
	fs.Var(flagx.Prefixes(&none), "external-ip-cidrs", "external `CIDRs`")
	fs.PrintDefaults()
	if !strings.Contains(help.String(), "(default 10.96.0.0/16)") || strings.Count(help.String(), "default") != 1 {
		t.Errorf("-h:\n%s\nwant one default, 10.96.0.0/16", help.String())
	}
}

func ExamplePrefixes() {
	cidrs := []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.Var(flagx.Prefixes(&cidrs), "service-cidr", "ClusterIP `CIDRs`, comma-separated")
	_ = fs.Parse([]string{"--service-cidr", "10.96.0.0/16,fd00:96::/112"})
	fmt.Println(cidrs)
	// Output: [10.96.0.0/16 fd00:96::/112]
}
