// Package dnsname builds, validates, parses and answers the DNS names of
// Kubernetes services and pods, following the Kubernetes DNS-Based Service
// Discovery specification, schema version 1.1.0.
//
// It has four parts:
//
//   - Validation: [IsDNS1035Label] (service names), [IsDNS1123Label]
//     (namespaces, hostnames), [IsDNS1123Subdomain] (pod names, ExternalName
//     targets) and [IsPortName] (IANA service names). They walk bytes, never
//     allocate for valid input, and return a [*ValidationError] naming the
//     rule and quoting the input.
//   - Names: [ServiceFQDN], [SRVName], [EndpointLabel] and [EndpointFQDN],
//     [PodFQDN], [ReverseName] and [ParseReverse], [VersionName]; and
//     [Parse], which tells what a query name is ([Kind]) without allocating
//     for lower-case names.
//   - Records: [RecordSet] (or [AppendRecordSet], into a reused slice)
//     gives the records of one service; a [Catalog] holds many services and
//     answers (name, type) questions with [Success], [NXDomain], [NoData]
//     or [NotOurs]. Feed it a whole state with [Catalog.Replace] and
//     [Catalog.ReplacePods], or one object at a time with
//     [Catalog.SetService] and [Catalog.DeleteService]; unchanged services
//     cost a comparison, and the caller keeps no copy of its own.
//   - Search: [Expand] lists the queries a stub resolver makes for a name,
//     given the search list (see [PodSearch]) and ndots.
//
// Invariants of the records a Catalog serves:
//
//   - A ClusterIP service answers A/AAAA with its cluster IPs, endpoints or
//     not. A headless service answers one A/AAAA per ready endpoint (every
//     endpoint when PublishNotReadyAddresses is set) and does not exist
//     (NXDOMAIN) when it has none; each endpoint also gets
//     "<hostname or dashed address>.<svc>.<ns>.svc.<zone>".
//   - Each named port has an SRV name "_<port>._<proto>.<svc>.<ns>.svc.<zone>"
//     with priority 0 and weights 100/n (integer division, as CoreDNS),
//     pointing at the service name, or at each endpoint name when headless.
//     A headless endpoint with its own [EndpointPort] list (EndpointSlices
//     may map one port name to different target ports) gets the port of the
//     same name and protocol from it, and no SRV record for a port it lacks.
//   - Cluster IPs and published endpoint addresses have PTR records.
//   - An ExternalName service is a CNAME to its target, answered for every
//     query type; an IP-address target gives no record at all.
//   - No answer lists a record twice (RFC 2181 §5.2): the SRV answer of a
//     service name lists a (target, port) pair once even when two service
//     ports share the number (53/UDP and 53/TCP), as CoreDNS does.
//   - A name with names below it but no records of its own — an empty
//     non-terminal such as "96.10.in-addr.arpa." or
//     "_tcp.api.prod.svc.cluster.local." — answers NODATA, never NXDOMAIN
//     (RFC 8020 §2). Likewise "pod.<zone>" and "<ns>.pod.<zone>" answer
//     NODATA exactly when a pod name below them can answer: in insecure
//     mode for every namespace that is a valid label, in verified mode for
//     namespaces with known pods, never with pod records disabled. CoreDNS
//     1.15 differs (NXDOMAIN for several empty non-terminals, NODATA for
//     "<ns>.pod" with pods disabled); svcnet follows the RFC.
//   - ANY gets one RRset of the name, the first in type order (A before
//     AAAA, SRV last), as RFC 8482 §4.1 allows. CoreDNS 1.15 answers ANY
//     with NODATA, which tells a client that asks for everything that
//     there is nothing; one RRset is a true answer and still keeps ANY
//     from amplifying.
//   - Names and targets are lower case and absolute; lookups ignore case.
//   - Every answer slice is shared and must not be modified.
//
// Usage:
//
//	c := dnsname.NewCatalog(dnsname.CatalogOptions{}) // cluster.local, TTL 5 s
//	err := c.SetService(dnsname.Service{
//		Namespace:  "default",
//		Name:       "api",
//		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
//		Ports:      []dnsname.Port{{Name: "http", Port: 80}},
//	})
//	ans, res := c.Lookup("api.default.svc.cluster.local.", dnsname.TypeA)
//	// res == dnsname.Success, ans.Records[0].Addr == 10.96.0.10
//	qs := dnsname.Expand("api.example.com", dnsname.PodSearch("default", ""), dnsname.DefaultNdots)
//	// four queries: three search domains, then the name as is
package dnsname
