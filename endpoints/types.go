package endpoints

import (
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/selector"
)

// Phase is a workload's lifecycle phase. The zero value is an unknown,
// non-terminal phase.
type Phase string

// Terminal phases leave a workload out of every endpoint set.
const (
	Succeeded Phase = "Succeeded"
	Failed    Phase = "Failed"
)

// TargetPort is a service port's target: a number or a container port name.
// The zero value means "same as the service port", as in Kubernetes.
type TargetPort struct {
	Number uint16 // used when Name is empty; zero means the service port
	Name   string // a named container port, looked up by name and protocol
}

// ServicePort is one port of a service. The zero value is an unnamed TCP
// port 0 and is invalid.
type ServicePort struct {
	Name        string   // zero means unnamed; Service.Validate allows it only for single-port services
	Protocol    Protocol // zero means TCP
	Port        uint16   // the service port
	TargetPort  TargetPort
	AppProtocol string // zero means none
}

// Service is the part of a Kubernetes Service the controller reads.
// The zero value is a service without a selector: it gets no managed
// endpoints.
type Service struct {
	Namespace string
	Name      string
	// Selector is the Service's label map. Nil or empty means the service
	// has no selector and its endpoints are managed by someone else.
	Selector map[string]string
	Ports    []ServicePort
	// Families lists the IP families the service uses, in order.
	// Zero (nil) means IPv4 only.
	Families []IPFamily
	// PublishNotReadyAddresses marks every endpoint ready. Zero means false.
	PublishNotReadyAddresses bool
	// Labels are copied onto every slice, except the keys the controller
	// reserves (see [Reconcile]). Zero means none.
	Labels map[string]string
	// Headless is true when spec.clusterIP is "None" (or unset): slices
	// then carry LabelHeadless. Zero means the service has a cluster IP.
	Headless bool
	// TrafficDistribution asks for topology hints. Zero means none.
	TrafficDistribution TrafficDistribution
}

// Validate reports whether s is a service whose slices can be planned,
// with the Kubernetes 1.37 API rules for the fields this package reads:
//   - it has a name (slices are named and labelled after it);
//   - Selector keys are label keys and its values label values
//     ([selector.ValidateLabels]);
//   - ports: a number from 1 to 65535 and a protocol of [TCP], [UDP] or
//     [SCTP] each; with more than one port every port is named; names are
//     DNS-1123 labels, unique; no two ports share number and protocol;
//   - Families holds at most one [IPv4] and one [IPv6];
//   - TrafficDistribution is empty or a value the Kubernetes API accepts.
//
// [Desired] does not call it and gives an unknown TrafficDistribution no
// hints; [Reconcile] does. The errors wrap [ErrInvalidService].
func (s *Service) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("%w: service in namespace %q has no name", ErrInvalidService, s.Namespace)
	}
	if err := selector.ValidateLabels(s.Selector); err != nil {
		return fmt.Errorf("%w: service %s/%s: selector: %w", ErrInvalidService, s.Namespace, s.Name, err)
	}
	if err := validatePorts(s.Ports); err != nil {
		return fmt.Errorf("%w: service %s/%s: %w", ErrInvalidService, s.Namespace, s.Name, err)
	}
	for i, f := range s.Families {
		if i > 1 || (f != IPv4 && f != IPv6) || (i == 1 && f == s.Families[0]) {
			return fmt.Errorf("%w: service %s/%s: families %v: at most one IPv4 and one IPv6", ErrInvalidService, s.Namespace, s.Name, s.Families)
		}
	}
	switch s.TrafficDistribution {
	case "", PreferClose, PreferSameZone, PreferSameNode:
		return nil
	}
	return fmt.Errorf("%w: service %s/%s: trafficDistribution %q is not %s, %s or %s",
		ErrInvalidService, s.Namespace, s.Name, s.TrafficDistribution, PreferClose, PreferSameZone, PreferSameNode)
}

// validatePorts applies Kubernetes' ServicePort rules. Names matter beyond
// style: a [Tracker] and a proxy key a service port by name and protocol,
// so two unnamed ports would share one endpoint list.
func validatePorts(ports []ServicePort) error {
	for i := range ports {
		p := &ports[i]
		switch {
		case p.Port == 0:
			return fmt.Errorf("port %d: number 0 is not between 1 and 65535", i)
		case p.Protocol > SCTP:
			return fmt.Errorf("port %d: protocol %v is not TCP, UDP or SCTP", i, p.Protocol)
		case p.Name == "" && len(ports) > 1:
			return fmt.Errorf("port %d (%d/%v): a service with more than one port must name every port", i, p.Port, p.Protocol)
		case p.Name != "" && !isDNSLabel(p.Name):
			return fmt.Errorf("port %d: name %q is not a DNS-1123 label", i, p.Name)
		}
		for j := range i {
			if q := &ports[j]; p.Name != "" && q.Name == p.Name {
				return fmt.Errorf("port %d: name %q used twice", i, p.Name)
			} else if q.Port == p.Port && q.Protocol == p.Protocol {
				return fmt.Errorf("port %d: %d/%v used twice", i, p.Port, p.Protocol)
			}
		}
	}
	return nil
}

// isDNSLabel matches Kubernetes' DNS-1123 label: 1–63 lowercase
// alphanumerics or '-', starting and ending with an alphanumeric.
func isDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// TrafficDistribution is a Service's spec.trafficDistribution. The zero
// value sets no hints; so does a value other than the constants below,
// which [Service.Validate] and [Reconcile] reject.
type TrafficDistribution string

// Values Kubernetes accepts for spec.trafficDistribution.
const (
	PreferClose    TrafficDistribution = "PreferClose"
	PreferSameZone TrafficDistribution = "PreferSameZone"
	PreferSameNode TrafficDistribution = "PreferSameNode"
)

// Hints are an endpoint's topology hints. The controller gives each
// endpoint at most one zone and one node, so Hints stays comparable. The
// zero value means no hints.
type Hints struct {
	ForZone string // zero means no zone hint
	ForNode string // zero means no node hint
}

// ContainerPort is a port a workload's container exposes. The zero value
// is an unnamed TCP port 0.
type ContainerPort struct {
	Name     string
	Protocol Protocol // zero means TCP
	Number   uint16
}

// Workload is the part of a pod the controller reads. The zero value is a
// workload without IPs and is never an endpoint.
type Workload struct {
	Namespace string
	Name      string
	Labels    map[string]string
	IPs       []netip.Addr // zero means none: not an endpoint
	Node      string       // zero means unscheduled
	Zone      string       // the node's zone; zero means unknown
	Hostname  string       // zero means none
	Subdomain string       // zero means none
	Phase     Phase
	Ready     bool // the pod's Ready condition
	Deleting  bool // a deletion timestamp is set
	// Ports lists container ports, including those of restartable
	// (sidecar) init containers. Zero means none.
	Ports []ContainerPort
}

// Conditions are an endpoint's conditions. The zero value is not ready,
// not serving, not terminating.
type Conditions struct {
	Ready, Serving, Terminating bool
}

// Ref names the workload behind an endpoint. The zero value means none.
type Ref struct {
	Namespace, Name string
}

// Endpoint is one address of a slice. The zero value is invalid (no address).
type Endpoint struct {
	Address    netip.Addr
	Conditions Conditions
	Hostname   string // zero means none
	NodeName   string // zero means unknown
	Zone       string // zero means unknown
	TargetRef  Ref
	Hints      Hints
}

// Port is one resolved slice port. The zero value is an unnamed TCP port 0.
type Port struct {
	Name        string
	Protocol    Protocol
	Port        uint16
	AppProtocol string
}
