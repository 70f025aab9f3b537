package dnsserver

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// downFor is how long an upstream that failed is tried only after the
// others.
const downFor = 10 * time.Second

// UDP sockets to an upstream are reused, as CoreDNS's forward plugin
// reuses its connections: opening one per query doubles what forwarding
// costs. At most idleConns wait per upstream, each for at most idleFor;
// a socket that saw an error is closed. Each query still has a random ID,
// and a late answer to an earlier query is ignored by its ID.
const (
	idleConns = 16
	idleFor   = 10 * time.Second
)

// idleConn is a UDP socket to an upstream waiting for its next query.
type idleConn struct {
	conn  *dns.Conn
	since time.Time
}

// upstream is one resolver the server forwards to.
type upstream struct {
	addr      netip.AddrPort
	str       string       // addr as the dns client dials it
	downUntil atomic.Int64 // unix nanoseconds; tried last until then
	// off is set for this server's own address, and for an upstream
	// that sent a query of ours back to us: forwarding to it loops.
	off  atomic.Bool
	idle chan idleConn
}

// flight identifies a query this server sent upstream, to recognise it if
// it comes back.
type flight struct {
	id    uint16
	qtype uint16
	name  string // lower case
}

// forwarder sends the questions the catalog does not serve to upstream
// resolvers: UDP first, TCP when the UDP answer is truncated; the
// upstreams in order, one that failed recently last; answers cached.
type forwarder struct {
	ups     []*upstream
	udp     *dns.Client
	tcp     *dns.Client
	timeout time.Duration
	log     *slog.Logger
	cache   *cache        // nil when disabled
	slots   chan struct{} // one per forward in flight
	now     func() time.Time

	flying   atomic.Int32 // len(inflight), read without mu
	mu       sync.Mutex   // protects inflight
	inflight map[flight]*upstream
}

func newForwarder(ups []netip.AddrPort, cfg Config) *forwarder {
	f := &forwarder{
		udp:      &dns.Client{Net: "udp", UDPSize: DefaultMaxUDPSize, Timeout: cfg.ForwardTimeout},
		tcp:      &dns.Client{Net: "tcp", Timeout: cfg.ForwardTimeout},
		timeout:  cfg.ForwardTimeout,
		log:      cfg.Logger,
		slots:    make(chan struct{}, cfg.MaxForwards),
		now:      time.Now,
		inflight: make(map[flight]*upstream),
	}
	if cfg.CacheSize > 0 {
		f.cache = newCache(cfg.CacheSize, cfg.CacheMaxTTL)
	}
	for _, a := range ups {
		f.ups = append(f.ups, &upstream{addr: a, str: a.String(), idle: make(chan idleConn, idleConns)})
	}
	return f
}

// exclude turns off the upstreams at the server's own listen addresses:
// the same address and port, or for a wildcard listener any loopback
// address on its port. A loop through another address is caught at run
// time instead (isLoop).
func (f *forwarder) exclude(self []net.Addr) {
	for _, a := range self {
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			continue
		}
		ip := ap.Addr().Unmap()
		for _, u := range f.ups {
			same := u.addr.Port() == ap.Port() &&
				(u.addr.Addr() == ip || ip.IsUnspecified() && (u.addr.Addr().IsLoopback() || u.addr.Addr().IsUnspecified()))
			if same && !u.off.Swap(true) {
				f.log.Warn("dns: upstream is this server itself; not forwarding to it", "upstream", u.str)
			}
		}
	}
	if f.usable() == 0 {
		f.log.Warn("dns: no upstream resolver; names outside the cluster zone get REFUSED")
	}
}

func (f *forwarder) usable() int {
	n := 0
	for _, u := range f.ups {
		if !u.off.Load() {
			n++
		}
	}
	return n
}

// isLoop reports whether req is a query this server sent upstream, come
// back: some upstream forwards to this server. That upstream is turned
// off; the looping query gets SERVFAIL, so the forward tries the next.
func (f *forwarder) isLoop(req *dns.Msg) bool {
	if f.flying.Load() == 0 {
		return false
	}
	q := req.Question[0]
	k := flight{id: req.Id, qtype: q.Qtype, name: strings.ToLower(q.Name)}
	f.mu.Lock()
	u, ok := f.inflight[k]
	f.mu.Unlock()
	if ok && !u.off.Swap(true) {
		f.log.Error("dns: forwarding loop: upstream sends our queries back to us; not forwarding to it", "upstream", u.str)
	}
	return ok
}

// forward answers req from the cache or the upstreams into m.
func (f *forwarder) forward(ctx context.Context, req, m *dns.Msg) Outcome {
	if f.usable() == 0 {
		m.Rcode = dns.RcodeRefused
		return Refused
	}
	var key cacheKey
	if f.cache != nil {
		key = keyOf(req)
		if c, ok := f.cache.get(key, f.now()); ok {
			fill(m, c)
			return Cached
		}
	}
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	default:
		m.Rcode = dns.RcodeRefused
		return Refused
	}
	r := f.exchange(ctx, req)
	if r == nil {
		m.Rcode = dns.RcodeServerFailure
		return ServFail
	}
	if f.cache != nil {
		f.cache.put(key, r, f.now())
	}
	fill(m, r)
	return Forwarded
}

// fill copies an upstream's answer into m, the reply to the client. The
// sections are copied, not shared: shaping m appends an OPT record and may
// cut sections, and r may sit in the cache. The records are shared; no
// one modifies them.
func fill(m, r *dns.Msg) {
	m.Rcode = r.Rcode
	m.AuthenticatedData = r.AuthenticatedData
	m.Answer, m.Ns, m.Extra = slices.Clone(r.Answer), slices.Clone(r.Ns), slices.Clone(r.Extra)
}

// order returns the usable upstreams, those that failed recently last.
func (f *forwarder) order() []*upstream {
	now := f.now().UnixNano()
	out := make([]*upstream, 0, len(f.ups))
	var down []*upstream
	for _, u := range f.ups {
		switch {
		case u.off.Load():
		case u.downUntil.Load() > now:
			down = append(down, u)
		default:
			out = append(out, u)
		}
	}
	return append(out, down...)
}

// exchange asks the upstreams in turn and returns the first answer that
// is not SERVFAIL or REFUSED, else the last such answer, else nil. The
// answer has no OPT record: the server adds its own.
func (f *forwarder) exchange(ctx context.Context, req *dns.Msg) *dns.Msg {
	q := req.Question[0]
	out := new(dns.Msg)
	out.SetQuestion(q.Name, q.Qtype)
	out.Question[0].Qclass = q.Qclass
	out.CheckingDisabled = req.CheckingDisabled
	do := false
	if o := req.IsEdns0(); o != nil {
		do = o.Do()
	}
	out.SetEdns0(DefaultMaxUDPSize, do)
	var last *dns.Msg
	for _, u := range f.order() {
		if ctx.Err() != nil {
			break
		}
		out.Id = dns.Id()
		r, err := f.ask(ctx, u, out)
		if err != nil {
			u.downUntil.Store(f.now().Add(downFor).UnixNano())
			f.log.Warn("dns: upstream failed", "upstream", u.str, "name", q.Name, "err", err)
			continue
		}
		stripOPT(r)
		if r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused {
			last = r
			continue
		}
		return r
	}
	return last
}

// ask sends one query to u, over UDP and then, if the answer is
// truncated, over TCP, registering it so that isLoop can recognise it.
func (f *forwarder) ask(ctx context.Context, u *upstream, out *dns.Msg) (*dns.Msg, error) {
	k := flight{id: out.Id, qtype: out.Question[0].Qtype, name: strings.ToLower(out.Question[0].Name)}
	f.mu.Lock()
	f.inflight[k] = u
	f.flying.Store(int32(len(f.inflight)))
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.inflight, k)
		f.flying.Store(int32(len(f.inflight)))
		f.mu.Unlock()
	}()
	r, err := f.askUDP(ctx, u, out)
	if err == nil && r.Truncated {
		ctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		r, _, err = f.tcp.ExchangeContext(ctx, out, u.str)
	}
	return r, err
}

// askUDP makes one UDP attempt, bounded by the forward timeout, on an idle
// socket to u or a new one.
func (f *forwarder) askUDP(ctx context.Context, u *upstream, out *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	var conn *dns.Conn
	for conn == nil {
		select {
		case ic := <-u.idle:
			if f.now().Sub(ic.since) < idleFor {
				conn = ic.conn
			} else {
				ic.conn.Close()
			}
			continue
		default:
		}
		var err error
		if conn, err = f.udp.DialContext(ctx, u.str); err != nil {
			return nil, err
		}
	}
	r, _, err := f.udp.ExchangeWithConnContext(ctx, out, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	select {
	case u.idle <- idleConn{conn: conn, since: f.now()}:
	default:
		conn.Close()
	}
	return r, nil
}

// close closes the idle sockets; Serve calls it once its handlers are done.
func (f *forwarder) close() {
	for _, u := range f.ups {
		for {
			select {
			case ic := <-u.idle:
				ic.conn.Close()
				continue
			default:
			}
			break
		}
	}
}

// stripOPT removes the upstream's OPT record from r.
func stripOPT(r *dns.Msg) {
	extra := r.Extra[:0]
	for _, rr := range r.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	r.Extra = extra
}
