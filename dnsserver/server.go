package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/miekg/dns"
	"github.com/svcnet/svcnet/dnsname"
)

// Server answers DNS queries over UDP and TCP from a [dnsname.Catalog] and
// forwards the rest. Build one with [New]; the zero Server is not usable.
// A Server is safe for concurrent use; Serve runs once at a time.
type Server struct {
	cfg     Config
	auth    *authority
	fwd     *forwarder // nil with Config.NoForward
	ready   atomic.Bool
	serving atomic.Bool
}

// New returns a server answering from cat, which the caller keeps
// updating (with [dnsname.Catalog.Replace], say) while the server runs.
// Until [Server.SetReady] it answers SERVFAIL for the names cat would
// serve, so that clients retry rather than cache a wrong NXDOMAIN. It
// reads the upstream resolvers now, unless cfg says not to forward; an
// unreadable resolv.conf is an error.
func New(cat *dnsname.Catalog, cfg Config) (*Server, error) {
	if cat == nil {
		return nil, errors.New("dnsserver: nil catalog")
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, auth: newAuthority(cat)}
	if cfg.NoForward {
		return s, nil
	}
	ups := cfg.Upstreams
	if len(ups) == 0 {
		var err error
		if ups, err = readResolvConf(cfg.ResolvConf); err != nil {
			return nil, err
		}
	}
	s.fwd = newForwarder(ups, cfg)
	return s, nil
}

// SetReady marks the catalog as synced: from now on the server answers
// from it. Call it after the first complete update.
func (s *Server) SetReady() { s.ready.Store(true) }

// Ready reports whether [Server.SetReady] was called.
func (s *Server) Ready() bool { return s.ready.Load() }

// Listen opens a UDP socket on addr and a TCP listener on the same address
// and port (so that port 0 gives one port for both), for [Server.Serve].
// With port 0, a UDP port whose TCP twin is taken is given back and
// another one tried.
func Listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dnsserver: listen udp %q: %w", addr, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if port != "0" || !errors.Is(err, syscall.EADDRINUSE) || try == 9 {
			return nil, nil, fmt.Errorf("dnsserver: listen tcp %q: %w", addr, err)
		}
	}
}

// Serve answers queries on pc (UDP) and l (TCP) until ctx is done, then
// closes both and returns once every goroutine it started — one per query
// or connection, each bounded by the forward timeout — has ended. Either
// socket may be nil. The server never forwards to the addresses it serves
// on (a resolv.conf naming this server itself); a loop through other
// servers is detected at run time and answered SERVFAIL. A nil error
// means ctx ended the serving.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn, l net.Listener) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("dnsserver: Serve is already running")
	}
	defer s.serving.Store(false)
	var servers []*dns.Server
	var nets []string
	var self []net.Addr
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) { s.handle(ctx, w, req) })
	if pc != nil {
		if u, ok := pc.(*net.UDPConn); ok && s.cfg.ReadBuffer > 0 {
			got, err := sizeReadBuffer(u, s.cfg.ReadBuffer)
			if err != nil || got < s.cfg.ReadBuffer {
				s.cfg.Logger.Warn("dns: UDP receive buffer smaller than configured; raise net.core.rmem_max or grant CAP_NET_ADMIN",
					"want", s.cfg.ReadBuffer, "got", got, "err", err)
			}
		}
		// UDPSize is the read buffer of one query, not of answers.
		servers = append(servers, &dns.Server{PacketConn: pc, Handler: h, UDPSize: 4096})
		nets, self = append(nets, "udp"), append(self, pc.LocalAddr())
	}
	if l != nil {
		servers = append(servers, &dns.Server{Listener: l, Handler: h})
		nets, self = append(nets, "tcp"), append(self, l.Addr())
	}
	if s.fwd != nil {
		s.fwd.exclude(self)
		defer s.fwd.close()
	}
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = run(ctx, srv)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			errs[i] = fmt.Errorf("dnsserver: serve %s: %w", nets[i], err)
		}
	}
	return errors.Join(errs...)
}

// run serves srv until ctx is done and returns once it has shut down and
// its handlers have returned.
func run(ctx context.Context, srv *dns.Server) error {
	// Shutdown before the server has started fails and leaves it
	// running: wait for the start (or its failure) first.
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	exited := make(chan error, 1)
	go func() { exited <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-exited:
		return err
	}
	select {
	case <-ctx.Done():
		srv.Shutdown()
		err := <-exited
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		return err
	case err := <-exited:
		return err
	}
}

// handle answers one query.
func (s *Server) handle(ctx context.Context, w dns.ResponseWriter, req *dns.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	size := s.sizeFor(req, tcp)
	m := new(dns.Msg)
	out := s.respond(ctx, req, m, size)
	s.shape(req, m, size, tcp)
	if s.cfg.OnAnswer != nil {
		s.cfg.OnAnswer(out) // before the write: a client holding its answer sees it counted
	}
	if err := w.WriteMsg(m); err != nil {
		s.cfg.Logger.Debug("dns: write", "remote", w.RemoteAddr().String(), "err", err)
	}
}

// sizeFor returns the largest answer req may get: 65,535 bytes over TCP;
// over UDP the client's EDNS0 size (512 without EDNS0) within
// [512, MaxUDPSize].
func (s *Server) sizeFor(req *dns.Msg, tcp bool) int {
	if tcp {
		return dns.MaxMsgSize
	}
	size := dns.MinMsgSize
	if o := req.IsEdns0(); o != nil {
		size = int(o.UDPSize())
	}
	return min(max(size, dns.MinMsgSize), s.cfg.MaxUDPSize)
}

// minRR is the fewest bytes a record of an answer takes on the wire
// (a compressed owner, the fixed fields and the shortest data): no more
// than size/minRR records can fit, so no more are converted.
const minRR = 14

// respond fills m, the reply to req, and returns its outcome.
func (s *Server) respond(ctx context.Context, req, m *dns.Msg, size int) Outcome {
	m.SetReply(req)
	m.RecursionAvailable = s.fwd != nil
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		m.SetRcode(req, dns.RcodeFormatError)
		return FormErr
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		m.Rcode = dns.RcodeRefused
		return Refused
	}
	if s.fwd != nil && s.fwd.isLoop(req) {
		m.Rcode = dns.RcodeServerFailure
		return ServFail
	}
	name := strings.ToLower(q.Name)
	if !s.ready.Load() && (s.auth.inZone(name) || isReverse(name)) {
		m.Rcode = dns.RcodeServerFailure
		return ServFail
	}
	if out, ok := s.auth.answer(q, m, size/minRR+1); ok {
		return out
	}
	if s.fwd == nil {
		m.Rcode = dns.RcodeRefused
		return Refused
	}
	return s.fwd.forward(ctx, req, m)
}

// isReverse reports whether name (lower case) lies in a reverse zone.
func isReverse(name string) bool {
	return dns.IsSubDomain("in-addr.arpa.", name) || dns.IsSubDomain("ip6.arpa.", name)
}

// shape fits m into size bytes, cutting it at a record boundary with TC
// set, and gives it the EDNS0 record the query's calls for. Over TCP a cut
// is logged: the client cannot get the rest, as with CoreDNS.
func (s *Server) shape(req, m *dns.Msg, size int, tcp bool) {
	if o := req.IsEdns0(); o != nil {
		m.SetEdns0(uint16(s.cfg.MaxUDPSize), o.Do())
	}
	m.Truncate(size)
	if tcp && m.Truncated && len(req.Question) > 0 {
		q := req.Question[0]
		s.cfg.Logger.Warn("dns: TCP answer over 64 KiB truncated", "name", q.Name, "type", dns.TypeToString[q.Qtype], "answers", len(m.Answer))
	}
}
