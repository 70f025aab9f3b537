package dnsname

import "strings"

// Resolver limits, as the kubelet enforces them on a pod's resolv.conf.
const (
	// MaxSearchDomains is the most search domains a pod may have.
	MaxSearchDomains = 32
	// MaxSearchChars is the longest search line (domains joined by spaces).
	MaxSearchChars = 2048
	// DefaultNdots is the ndots option Kubernetes writes into pods.
	DefaultNdots = 5
)

// PodSearch returns the search list Kubernetes gives a pod in namespace ns
// (dnsPolicy ClusterFirst): "<ns>.svc.<zone>", "svc.<zone>", "<zone>".
func PodSearch(ns, zone string) []string {
	zone = zoneOf(zone)
	return []string{ns + ".svc." + zone, "svc." + zone, zone}
}

// LimitSearch returns the leading domains of search that fit the resolver
// limits: at most [MaxSearchDomains] domains and [MaxSearchChars]
// characters when joined by spaces. Empty domains are dropped. Like the
// kubelet, it keeps the longest prefix that fits rather than failing.
func LimitSearch(search []string) []string {
	out := make([]string, 0, min(len(search), MaxSearchDomains))
	chars := 0
	for _, d := range search {
		d = strings.TrimSuffix(d, ".")
		if d == "" {
			continue
		}
		n := len(d)
		if len(out) > 0 {
			n++ // the separating space
		}
		if len(out) == MaxSearchDomains || chars+n > MaxSearchChars {
			break
		}
		chars += n
		out = append(out, d)
	}
	return out
}

// Expand returns the absolute names, in order, that a stub resolver with
// the search list and ndots option queries for name, as resolv.conf(5)
// describes: a name with a trailing dot is absolute and queried alone; a
// name with at least ndots dots is first tried as is, then with each
// search domain; any other name is tried with each search domain first and
// as is last. The search list is first cut to the resolver limits with
// [LimitSearch]. Every returned name ends with a dot. An empty name gives
// nil.
func Expand(name string, search []string, ndots int) []string {
	if name == "" || name == "." {
		return nil
	}
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	search = LimitSearch(search)
	out := make([]string, 0, len(search)+1)
	asIs := name + "."
	first := strings.Count(name, ".") >= ndots
	if first {
		out = append(out, asIs)
	}
	for _, d := range search {
		out = append(out, name+"."+d+".")
	}
	if !first {
		out = append(out, asIs)
	}
	return out
}
