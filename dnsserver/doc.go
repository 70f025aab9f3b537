// Package dnsserver serves a [dnsname.Catalog] over UDP and TCP, the way
// a cluster DNS server does, so that a pod can use it as its only
// resolver: names in the cluster zone and reverse names of cluster
// addresses come from the catalog; every other name is forwarded to
// upstream resolvers (by default the nameservers of /etc/resolv.conf).
//
// What it does around the catalog:
//
//   - Negative answers carry the zone's SOA (the cluster zone, or
//     in-addr.arpa. / ip6.arpa. for reverse names) with the records' TTL
//     as negative-caching TTL. Answers echo the question's letter case.
//   - Until [Server.SetReady], names the catalog would answer get
//     SERVFAIL: a client retries, rather than caching an NXDOMAIN of a
//     catalog that is still empty.
//   - UDP answers are capped at [Config.MaxUDPSize] (1,232 bytes, the DNS
//     Flag Day 2020 value) or the client's smaller EDNS0 size, 512 bytes
//     without EDNS0, and cut at a record boundary with TC set, so a
//     58-byte query never draws a 64 KB answer. TCP answers over 65,535
//     bytes are cut to what fits, with TC set, and logged, as CoreDNS does.
//   - Forwarding: UDP with TCP after a truncated answer, a timeout per
//     attempt, upstreams in order with those that failed in the last 10 s
//     tried last, SERVFAIL or REFUSED from one upstream passed on only when
//     every other fails too, a bounded number of forwards in flight, and a
//     TTL- and size-bounded cache. The server never forwards to its own
//     listen addresses, and a query of its own that comes back through
//     another server turns that upstream off and is answered SERVFAIL.
//   - The UDP socket's receive buffer is sized ([Config.ReadBuffer]) so
//     that a burst of queries is queued rather than dropped.
//
// Every goroutine Serve starts — one per UDP query and per TCP connection,
// as github.com/miekg/dns serves them — has ended when Serve returns.
//
// Usage:
//
//	cat := dnsname.NewCatalog(dnsname.CatalogOptions{PodRecords: dnsname.PodsInsecure})
//	srv, err := dnsserver.New(cat, dnsserver.Config{Logger: log})
//	pc, l, err := dnsserver.Listen("10.96.0.10:53")
//	go srv.Serve(ctx, pc, l)
//	err = cat.Replace(services) // on every sync
//	srv.SetReady()              // after the first
package dnsserver
