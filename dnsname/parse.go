package dnsname

import (
	"net/netip"
	"strconv"
	"strings"
)

// Kind says what a query name is. The zero Kind is [KindNotOurs].
type Kind uint8

// Kinds of names, as the Kubernetes DNS specification defines them.
const (
	// KindNotOurs is a name outside the cluster zone and not a complete
	// reverse name: a server forwards it.
	KindNotOurs Kind = iota
	// KindZone is the zone apex or one of the fixed names "svc.<zone>",
	// "pod.<zone>" and "<ns>.pod.<zone>" (Namespace set).
	KindZone
	// KindNamespace is "<ns>.svc.<zone>"; Namespace is set.
	KindNamespace
	// KindService is "<svc>.<ns>.svc.<zone>".
	KindService
	// KindSRV is "_<port>._<proto>.<svc>.<ns>.svc.<zone>" where <proto> is
	// tcp, udp or sctp; Port (without its underscore) and Proto are set.
	KindSRV
	// KindEndpoint is "<endpoint>.<svc>.<ns>.svc.<zone>".
	KindEndpoint
	// KindPod is "<dashed address>.<ns>.pod.<zone>"; Addr is set.
	KindPod
	// KindReverse is a complete in-addr.arpa or ip6.arpa name; Addr is set.
	KindReverse
	// KindVersion is "dns-version.<zone>".
	KindVersion
	// KindInvalid is a name inside the zone that no rule of the
	// specification can produce; it never exists (NXDOMAIN).
	KindInvalid
)

var kindNames = [...]string{"NotOurs", "Zone", "Namespace", "Service", "SRV", "Endpoint", "Pod", "Reverse", "Version", "Invalid"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Name is a parsed query name. Fields not used by its Kind are empty. String
// fields are lower case; when the query was already lower case they share
// its memory. The zero Name is a [KindNotOurs] name. Name is a value; it is
// safe to copy and to share.
type Name struct {
	Kind      Kind
	Service   string
	Namespace string
	Port      string   // SRV port name, without '_'
	Proto     Protocol // SRV protocol
	Endpoint  string   // first label of an endpoint name
	Addr      netip.Addr
}

// Parse tells what the query name is within zone (zone "" means
// [DefaultZone]); both may carry a trailing dot and any letter case.
// Parse never fails: names inside the zone that match no rule are
// [KindInvalid], and names outside it [KindNotOurs] unless they are complete
// reverse names. Lower-case names parse without allocating.
func Parse(name, zone string) Name {
	zone = zoneOf(zone)
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return Name{}
	}
	if equalFold(name, zone) {
		return Name{Kind: KindZone}
	}
	cut := len(name) - len(zone) - 1
	if cut < 0 || name[cut] != '.' || !equalFold(name[cut+1:], zone) {
		if a, ok := parseReverse(name); ok {
			return Name{Kind: KindReverse, Addr: a}
		}
		return Name{}
	}
	rest := name[:cut]

	// At most five labels below the zone are meaningful; a sixth marks the
	// name as invalid, so the scan stops there.
	var l [6]string
	k := 0
	start := 0
	for i := 0; i <= len(rest); i++ {
		if i < len(rest) && rest[i] != '.' {
			continue
		}
		if i == start || k == len(l) {
			return Name{Kind: KindInvalid}
		}
		l[k] = strings.ToLower(rest[start:i])
		k++
		start = i + 1
	}
	switch last := l[k-1]; {
	case k == 1 && last == "dns-version":
		return Name{Kind: KindVersion}
	case last == "svc":
		switch k {
		case 1:
			return Name{Kind: KindZone}
		case 2:
			return Name{Kind: KindNamespace, Namespace: l[0]}
		case 3:
			return Name{Kind: KindService, Service: l[0], Namespace: l[1]}
		case 4:
			if l[0][0] != '_' {
				return Name{Kind: KindEndpoint, Endpoint: l[0], Service: l[1], Namespace: l[2]}
			}
		case 5:
			if len(l[0]) > 1 && len(l[1]) > 1 && l[0][0] == '_' && l[1][0] == '_' {
				if proto, ok := protocolOfLabel(l[1][1:]); ok {
					return Name{Kind: KindSRV, Port: l[0][1:], Proto: proto, Service: l[2], Namespace: l[3]}
				}
			}
		}
	case last == "pod":
		switch k {
		case 1:
			return Name{Kind: KindZone}
		case 2:
			return Name{Kind: KindZone, Namespace: l[0]}
		case 3:
			if a, ok := parseDashed(l[0]); ok {
				return Name{Kind: KindPod, Namespace: l[1], Addr: a}
			}
		}
	}
	return Name{Kind: KindInvalid}
}

// FQDN renders n as an absolute name in zone, the inverse of [Parse] for
// every Kind that names one thing. It returns "" for [KindNotOurs],
// [KindZone] and [KindInvalid].
func (n Name) FQDN(zone string) string {
	switch n.Kind {
	case KindNamespace:
		return fqdn(zone, n.Namespace, "svc")
	case KindService:
		return ServiceFQDN(n.Service, n.Namespace, zone)
	case KindSRV:
		return SRVName(n.Port, n.Proto, n.Service, n.Namespace, zone)
	case KindEndpoint:
		return EndpointFQDN(n.Endpoint, n.Service, n.Namespace, zone)
	case KindPod:
		return PodFQDN(n.Addr, n.Namespace, zone)
	case KindReverse:
		return ReverseName(n.Addr)
	case KindVersion:
		return VersionName(zone)
	}
	return ""
}
