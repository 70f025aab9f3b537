package dnsname

import "net/netip"

var mp = netip.MustParseAddr
