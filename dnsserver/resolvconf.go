package dnsserver

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// readResolvConf returns the nameservers of the resolv.conf at path.
func readResolvConf(path string) ([]netip.AddrPort, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dnsserver: upstreams: %w", err)
	}
	return parseResolvConf(b), nil
}

// parseResolvConf returns the "nameserver" addresses of a resolv.conf, on
// port 53, in order and without repeats. As the C library does, it skips
// what it cannot read (comments after '#' or ';', other options, bad
// addresses) rather than fail: a resolver file with one odd line still
// names its servers.
func parseResolvConf(b []byte) []netip.AddrPort {
	var out []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		ap := netip.AddrPortFrom(a.Unmap(), 53)
		if !contains(out, ap) {
			out = append(out, ap)
		}
	}
	return out
}

func contains(s []netip.AddrPort, a netip.AddrPort) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}
