package dnsserver

import (
	"strings"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
)

// authority is what the server is authoritative for: the cluster zone and
// the reverse names the catalog holds, each answered with an SOA in the
// authority section of a negative answer.
type authority struct {
	cat  *dnsname.Catalog
	soas []*dns.SOA // the zone's, then in-addr.arpa.'s and ip6.arpa.'s
}

func newAuthority(cat *dnsname.Catalog) *authority {
	zone := cat.Zone() + "."
	ttl := cat.TTL()
	a := &authority{cat: cat}
	for _, origin := range []string{zone, "in-addr.arpa.", "ip6.arpa."} {
		a.soas = append(a.soas, &dns.SOA{
			Hdr:    dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
			Ns:     "ns.dns." + zone,
			Mbox:   "hostmaster." + zone,
			Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400,
			// The negative-caching TTL (RFC 2308) is the records' TTL, as
			// CoreDNS sets it.
			Minttl: ttl,
		})
	}
	return a
}

// inZone reports whether name (lower case, absolute) is the cluster zone or
// below it.
func (a *authority) inZone(name string) bool { return dns.IsSubDomain(a.soas[0].Hdr.Name, name) }

// soaFor returns the SOA of the zone name lies in: the cluster zone or a
// reverse zone.
func (a *authority) soaFor(name string) *dns.SOA {
	for _, soa := range a.soas {
		if dns.IsSubDomain(soa.Hdr.Name, name) {
			return soa
		}
	}
	return a.soas[0]
}

// answer fills m, a reply to the question q, from the catalog. It returns
// false for a name the catalog does not serve (dnsname.NotOurs), leaving m
// for the forwarder. limit bounds how many records are converted: no
// more can fit in the message.
func (a *authority) answer(q dns.Question, m *dns.Msg, limit int) (Outcome, bool) {
	name := strings.ToLower(q.Name)
	if q.Qtype == dns.TypeSOA && a.isApex(name) {
		m.Authoritative = true
		m.Answer = append(m.Answer, a.soaFor(name))
		return NoError, true
	}
	ans, res := a.cat.Lookup(q.Name, dnsname.Type(q.Qtype))
	switch res {
	case dnsname.NotOurs:
		return 0, false
	case dnsname.Success:
		m.Authoritative = true
		m.Answer = appendRRs(m.Answer, ans.Records, q.Name, limit)
		m.Extra = appendRRs(m.Extra, ans.Extra, "", limit-len(m.Answer))
		return NoError, true
	case dnsname.NoData:
		m.Authoritative = true
		m.Ns = append(m.Ns, a.soaFor(name))
		return NoData, true
	}
	m.Authoritative = true
	m.Rcode = dns.RcodeNameError
	m.Ns = append(m.Ns, a.soaFor(name))
	return NXDomain, true
}

// isApex reports whether name is the origin of one of the SOAs; the apex
// of a reverse zone answers its SOA only when the catalog has names there
// (a SOA query for it is otherwise forwarded).
func (a *authority) isApex(name string) bool {
	if name == a.soas[0].Hdr.Name {
		return true
	}
	for _, soa := range a.soas[1:] {
		if name == soa.Hdr.Name {
			_, res := a.cat.Lookup(name, dnsname.TypeSOA)
			return res == dnsname.NoData
		}
	}
	return false
}

// appendRRs converts at most limit records to the wire library's form. A
// record owned by the question's name takes the question's spelling:
// resolvers that randomise the case of their queries (0x20) check it.
func appendRRs(dst []dns.RR, rs []dnsname.Record, qname string, limit int) []dns.RR {
	for i := range rs {
		if limit <= 0 {
			break
		}
		limit--
		owner := rs[i].Name
		if qname != "" && len(owner) == len(qname) && strings.EqualFold(owner, qname) {
			owner = qname
		}
		dst = append(dst, toRR(&rs[i], owner))
	}
	return dst
}

// toRR converts a catalog record, owned by owner.
func toRR(r *dnsname.Record, owner string) dns.RR {
	hdr := dns.RR_Header{Name: owner, Rrtype: uint16(r.Type), Class: dns.ClassINET, Ttl: r.TTL}
	switch r.Type {
	case dnsname.TypeA:
		return &dns.A{Hdr: hdr, A: r.Addr.AsSlice()}
	case dnsname.TypeAAAA:
		return &dns.AAAA{Hdr: hdr, AAAA: r.Addr.AsSlice()}
	case dnsname.TypeCNAME:
		return &dns.CNAME{Hdr: hdr, Target: r.Target}
	case dnsname.TypePTR:
		return &dns.PTR{Hdr: hdr, Ptr: r.Target}
	case dnsname.TypeSRV:
		return &dns.SRV{Hdr: hdr, Priority: r.Priority, Weight: r.Weight, Port: r.Port, Target: r.Target}
	}
	return &dns.TXT{Hdr: hdr, Txt: []string{r.Text}}
}
