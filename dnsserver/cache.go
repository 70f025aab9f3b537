package dnsserver

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// cacheKey identifies a forwarded question. DO is part of it: an answer
// with DNSSEC records is not the answer to a client that did not ask.
type cacheKey struct {
	name          string // lower case
	qtype, qclass uint16
	do            bool
}

type cacheEntry struct {
	msg     *dns.Msg // the upstream's answer, never modified
	stored  time.Time
	expires time.Time
}

// cache holds forwarded answers for at most their TTL (bounded by maxTTL)
// and at most max of them: when full, a new answer replaces an arbitrary
// one (the first of Go's randomised map order), which costs O(1) and
// cannot be steered by a client. Safe for concurrent use.
type cache struct {
	max    int
	maxTTL time.Duration

	mu sync.Mutex // protects m
	m  map[cacheKey]*cacheEntry
}

func newCache(max int, maxTTL time.Duration) *cache {
	return &cache{max: max, maxTTL: maxTTL, m: make(map[cacheKey]*cacheEntry, max)}
}

func keyOf(req *dns.Msg) cacheKey {
	q := req.Question[0]
	do := false
	if o := req.IsEdns0(); o != nil {
		do = o.Do()
	}
	return cacheKey{name: strings.ToLower(q.Name), qtype: q.Qtype, qclass: q.Qclass, do: do}
}

// get returns a copy of the cached answer with its TTLs lowered by the
// time it spent in the cache.
func (c *cache) get(k cacheKey, now time.Time) (*dns.Msg, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	if ok && !now.Before(e.expires) {
		delete(c.m, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	m := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, s := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range s {
			if h := rr.Header(); h.Ttl > age {
				h.Ttl -= age
			} else {
				h.Ttl = 0
			}
		}
	}
	return m, true
}

// put caches m, an upstream's answer with its OPT record removed, when it
// may be: a complete NOERROR or NXDOMAIN answer with a TTL.
func (c *cache) put(k cacheKey, m *dns.Msg, now time.Time) {
	ttl, ok := cacheTTL(m)
	if !ok {
		return
	}
	d := min(time.Duration(ttl)*time.Second, c.maxTTL)
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = &cacheEntry{msg: m, stored: now, expires: now.Add(d)}
}

// cacheTTL returns how long m may be cached: the smallest TTL of its
// answer records, or for a negative answer the smaller of its SOA's TTL
// and minimum (RFC 2308 §5). Truncated answers, other rcodes and negative
// answers without an SOA are not cached.
func cacheTTL(m *dns.Msg) (uint32, bool) {
	if m.Truncated || m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		return 0, false
	}
	if m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0 {
		ttl := m.Answer[0].Header().Ttl
		for _, rr := range m.Answer[1:] {
			ttl = min(ttl, rr.Header().Ttl)
		}
		return ttl, true
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl), true
		}
	}
	return 0, false
}
