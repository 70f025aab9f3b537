package dnsserver

import (
	"log/slog"
	"net/netip"
	"strconv"
	"time"
)

// Defaults of [Config]'s zero values.
const (
	// DefaultMaxUDPSize is the largest UDP answer: the DNS Flag Day 2020
	// value, which fits the common 1,280-byte IPv6 minimum MTU and so
	// avoids fragmentation.
	DefaultMaxUDPSize = 1232
	// DefaultReadBuffer is the UDP socket's receive buffer: room for
	// about 8,000 queries of a burst while the server catches up, where
	// the kernel's usual 208 KiB default drops answers under a flood.
	DefaultReadBuffer = 8 << 20
	// DefaultResolvConf is where the upstream resolvers are read from.
	DefaultResolvConf = "/etc/resolv.conf"
	// DefaultForwardTimeout bounds one attempt at one upstream.
	DefaultForwardTimeout = 2 * time.Second
	// DefaultCacheSize is how many forwarded answers the cache holds.
	DefaultCacheSize = 4096
	// DefaultCacheMaxTTL bounds how long a forwarded answer is cached,
	// whatever its TTL says.
	DefaultCacheMaxTTL = 5 * time.Minute
	// DefaultMaxForwards bounds the forwarded queries in flight; more are
	// refused, so that a flood of unique names cannot open sockets
	// without bound.
	DefaultMaxForwards = 1000
)

// Config configures a [Server]. The zero Config is usable: 1,232-byte UDP
// answers, an 8 MiB receive buffer, forwarding to the nameservers of
// /etc/resolv.conf with a 2 s timeout per attempt, and a 4,096-entry cache
// of forwarded answers held at most 5 minutes.
type Config struct {
	// Logger receives what an operator should know: truncated TCP
	// answers, upstream failures and loops. Nil means discard.
	Logger *slog.Logger

	// MaxUDPSize caps UDP answers in bytes; a client's smaller EDNS0 size
	// (at least 512) is honoured, a larger one never is, and a query
	// without EDNS0 gets 512 bytes (RFC 1035). A longer answer is cut at
	// a record boundary and sent with TC set, so the client retries over
	// TCP. Zero means [DefaultMaxUDPSize]; values under 512 mean 512.
	MaxUDPSize int
	// ReadBuffer is the UDP socket's receive buffer in bytes: set with
	// SO_RCVBUFFORCE where the process may (CAP_NET_ADMIN), else SO_RCVBUF,
	// which the kernel caps at net.core.rmem_max; a smaller buffer than
	// asked for is logged. Zero means [DefaultReadBuffer]; negative leaves
	// the socket's default.
	ReadBuffer int

	// Upstreams are the resolvers that names outside the cluster zone and
	// reverse names the catalog does not hold are forwarded to, tried in
	// order. Empty means the nameservers of ResolvConf.
	Upstreams []netip.AddrPort
	// ResolvConf is the resolv.conf file read when Upstreams is empty.
	// Zero means [DefaultResolvConf].
	ResolvConf string
	// NoForward answers REFUSED for every name the catalog does not
	// serve instead of forwarding it; Upstreams and ResolvConf are then
	// not read. Zero means forward.
	NoForward bool
	// ForwardTimeout bounds one attempt at one upstream (UDP, and TCP
	// after a truncated UDP answer). Zero means [DefaultForwardTimeout].
	ForwardTimeout time.Duration
	// MaxForwards bounds the forwarded queries in flight; a query over
	// the bound is answered REFUSED, as CoreDNS's forward plugin does
	// with max_concurrent. Zero means [DefaultMaxForwards].
	MaxForwards int
	// CacheSize is how many forwarded answers are cached. Zero means
	// [DefaultCacheSize]; negative disables the cache.
	CacheSize int
	// CacheMaxTTL bounds how long a forwarded answer is cached; within
	// it an answer is kept for its smallest TTL (a negative answer for
	// its SOA's, RFC 2308). Zero means [DefaultCacheMaxTTL].
	CacheMaxTTL time.Duration

	// OnAnswer, when set, is called once per query with its outcome, for
	// metrics, before the answer is written: once a client has its
	// answer, the query has been counted. It must be safe for concurrent
	// use and quick.
	OnAnswer func(Outcome)
}

// withDefaults returns c with its zero values replaced.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxUDPSize == 0 {
		c.MaxUDPSize = DefaultMaxUDPSize
	}
	c.MaxUDPSize = min(max(c.MaxUDPSize, 512), 65535)
	if c.ReadBuffer == 0 {
		c.ReadBuffer = DefaultReadBuffer
	}
	if c.ResolvConf == "" {
		c.ResolvConf = DefaultResolvConf
	}
	if c.ForwardTimeout <= 0 {
		c.ForwardTimeout = DefaultForwardTimeout
	}
	if c.MaxForwards <= 0 {
		c.MaxForwards = DefaultMaxForwards
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.CacheMaxTTL <= 0 {
		c.CacheMaxTTL = DefaultCacheMaxTTL
	}
	return c
}

// Outcome is how a query was answered, as [Config.OnAnswer] reports it.
// The zero Outcome is [NoError].
type Outcome uint8

// Outcomes of a query.
const (
	// NoError: records from the catalog.
	NoError Outcome = iota
	// NoData: the name exists in the catalog without records of the type.
	NoData
	// NXDomain: the name does not exist in the cluster zone.
	NXDomain
	// Forwarded: the answer of an upstream resolver.
	Forwarded
	// Cached: a cached answer of an upstream resolver.
	Cached
	// ServFail: the catalog is not ready yet, every upstream failed, or
	// a forwarding loop was detected.
	ServFail
	// Refused: a name not served with forwarding off, no usable
	// upstream, a class other than IN, or too many forwards in flight.
	Refused
	// FormErr: not exactly one question, or not a standard query.
	FormErr
)

var outcomeNames = [...]string{"NOERROR", "NODATA", "NXDOMAIN", "FORWARDED", "CACHED", "SERVFAIL", "REFUSED", "FORMERR"}

// String returns the outcome in capitals, as metrics label it
// ("NOERROR", "NXDOMAIN", …), or "Outcome(N)".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}
