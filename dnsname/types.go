package dnsname

import (
	"net/netip"
	"strconv"
)

// Type is a DNS record type; its values are the IANA type numbers, so a
// server converts with a plain cast. The zero Type matches no record.
//
// Type, Result, Record, Answer, Service, Port, Endpoint, EndpointPort, Pod
// and PodMode are plain values: safe to copy, and safe for concurrent reads.
type Type uint16

// Record types the catalog answers (NS and SOA only ever get NODATA here:
// the apex records belong to the server, not to the services).
const (
	TypeA     Type = 1
	TypeNS    Type = 2
	TypeCNAME Type = 5
	TypeSOA   Type = 6
	TypePTR   Type = 12
	TypeTXT   Type = 16
	TypeAAAA  Type = 28
	TypeSRV   Type = 33
	TypeANY   Type = 255
)

func (t Type) String() string {
	switch t {
	case TypeA:
		return "A"
	case TypeNS:
		return "NS"
	case TypeCNAME:
		return "CNAME"
	case TypeSOA:
		return "SOA"
	case TypePTR:
		return "PTR"
	case TypeTXT:
		return "TXT"
	case TypeAAAA:
		return "AAAA"
	case TypeSRV:
		return "SRV"
	case TypeANY:
		return "ANY"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// Result is the outcome of a lookup. The zero Result is [Success].
type Result uint8

const (
	// Success: the name exists and the answer holds records of the type
	// (or the CNAME standing in for every type).
	Success Result = iota
	// NXDomain: the name does not exist in the zone.
	NXDomain
	// NoData: the name exists but has no record of the type.
	NoData
	// NotOurs: the name is outside the zone (or a reverse name of an
	// address the catalog does not know); a server forwards it.
	NotOurs
)

func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case NXDomain:
		return "NXDomain"
	case NoData:
		return "NoData"
	case NotOurs:
		return "NotOurs"
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Record is one resource record. Which fields are set depends on Type: Addr
// for A and AAAA; Target for CNAME, PTR and SRV; Priority, Weight and Port
// for SRV; Text for TXT. Names and targets are absolute, lower case, with a
// trailing dot. The zero Record is invalid (Type 0).
type Record struct {
	Name     string
	Type     Type
	TTL      uint32
	Addr     netip.Addr
	Target   string
	Priority uint16
	Weight   uint16
	Port     uint16
	Text     string
}

// Answer is what a lookup returns. Records is the answer section; Extra the
// additional section (the A and AAAA records of SRV targets, as CoreDNS
// sends). Both slices are shared with the catalog: callers must not modify
// them. The zero Answer is empty.
type Answer struct {
	Records []Record
	Extra   []Record
}

// ServiceType is the kind of a Service as DNS sees it. The zero value is
// [ClusterIP].
type ServiceType uint8

const (
	// ClusterIP services answer their cluster IPs. NodePort and
	// LoadBalancer services are ClusterIP services to DNS.
	ClusterIP ServiceType = iota
	// Headless services (clusterIP: None) answer their endpoints.
	Headless
	// ExternalName services answer a CNAME to their external name.
	ExternalName
)

func (t ServiceType) String() string {
	switch t {
	case ClusterIP:
		return "ClusterIP"
	case Headless:
		return "Headless"
	case ExternalName:
		return "ExternalName"
	}
	return "ServiceType(" + strconv.Itoa(int(t)) + ")"
}

// Service is what DNS needs to know of a Kubernetes Service and its
// endpoints. The zero Service is invalid (it has no name).
type Service struct {
	Namespace string
	Name      string
	Type      ServiceType
	// ClusterIPs are the service's virtual addresses (ClusterIP type only);
	// one per family for dual-stack services.
	ClusterIPs []netip.Addr
	// ExternalName is the CNAME target of an ExternalName service. An IP
	// address here produces no record, as in CoreDNS.
	ExternalName string
	Ports        []Port
	// PublishNotReadyAddresses makes a headless service answer endpoints
	// that are not ready too.
	PublishNotReadyAddresses bool
	Endpoints                []Endpoint
}

// Port is one service port. Only named ports get SRV names. The zero Port
// is an unnamed TCP port 0.
type Port struct {
	Name     string
	Protocol Protocol
	Port     uint16
}

// Endpoint is one backend of a service. Addrs holds one address per family.
// Hostname (spec.hostname of a pod in the service's subdomain) names the
// endpoint under a headless service; PodName may, when the catalog is told
// to use pod names. The zero Endpoint has no address and is ignored.
type Endpoint struct {
	Addrs    []netip.Addr
	Hostname string
	PodName  string
	Ready    bool
	// Ports are the endpoint's own ports, as the EndpointSlice holding it
	// lists them: Kubernetes lets the endpoints of one service map a port
	// name to different target ports. A headless service's SRV record of
	// this endpoint for service port N carries the endpoint's port of the
	// same name and protocol, and the endpoint has no SRV record for N when
	// it lacks such a port. Empty means every service port, with the
	// service-level port number. ClusterIP services ignore Ports: their SRV
	// records point at the service.
	Ports []EndpointPort
}

// EndpointPort is one port of an [Endpoint], as in an EndpointSlice. Name
// matches the service port of the same name (empty for the single unnamed
// port of a one-port service). Port is the target port; zero means the slice left it unset
// ("interpreted in the context of the consumer"), and the service port
// stands in. The zero EndpointPort is the unnamed TCP port, number unset.
type EndpointPort struct {
	Name     string
	Protocol Protocol
	Port     uint16
}

// Pod is what verified pod records need: a pod's namespace, name and IPs.
// The zero Pod is invalid (it has no name).
type Pod struct {
	Namespace string
	Name      string
	Addrs     []netip.Addr
}

// PodMode selects how "<a-b-c-d>.<ns>.pod.<zone>" names are answered, as
// CoreDNS's "pods" option does. The zero value is [PodsDisabled].
type PodMode uint8

const (
	// PodsDisabled answers no pod names (NXDOMAIN).
	PodsDisabled PodMode = iota
	// PodsInsecure echoes the address of any well-formed pod name, without
	// checking that such a pod exists (kube-dns compatibility).
	PodsInsecure
	// PodsVerified answers only addresses of pods the catalog knows in
	// that namespace ([Catalog.SetPod]).
	PodsVerified
)

// String renders r as a zone-file line, e.g.
// "api.prod.svc.cluster.local.	5	IN	A	10.96.0.10".
func (r Record) String() string {
	head := r.Name + "\t" + strconv.Itoa(int(r.TTL)) + "\tIN\t" + r.Type.String() + "\t"
	switch r.Type {
	case TypeA, TypeAAAA:
		return head + r.Addr.String()
	case TypeSRV:
		return head + strconv.Itoa(int(r.Priority)) + " " + strconv.Itoa(int(r.Weight)) + " " + strconv.Itoa(int(r.Port)) + " " + r.Target
	case TypeTXT:
		return head + strconv.Quote(r.Text)
	}
	return head + r.Target
}
