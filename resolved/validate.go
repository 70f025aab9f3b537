package resolved

import (
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/endpoints"
)

// Validate reports whether s is a Service a node agent can program whole:
//   - it has a namespace and a name, a known type and known traffic
//     policies;
//   - ClusterIPs are valid, specified, at most one per family, and absent
//     on headless and ExternalName services; IPFamilies hold at most one
//     IPv4 and one IPv6;
//   - ports have a number, a known protocol, a (name, protocol) and a
//     (port, protocol) of their own, a name when there are several, and a
//     NodePort only on NodePort and LoadBalancer services;
//   - external and LoadBalancer addresses are valid and specified
//     (0.0.0.0 would capture every address of the node);
//   - the affinity timeout is at most MaxAffinityTimeout;
//   - every slice has a family, numbered ports and specified endpoint
//     addresses of its family.
//
// The errors wrap ErrInvalid and name the service and the field.
func (s *Service) Validate() error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("%w: service %s/%s: %s", ErrInvalid, s.Namespace, s.Name, err)
	}
	return nil
}

// problem is a validation failure's text, wrapped by Validate.
type problem string

func (p problem) Error() string { return string(p) }

func problemf(format string, args ...any) error { return problem(fmt.Sprintf(format, args...)) }

func (s *Service) validate() error {
	if s.Namespace == "" || s.Name == "" {
		return problem("needs a namespace and a name")
	}
	if s.Type > ExternalName {
		return problemf("type %v unknown", s.Type)
	}
	if s.ExternalTrafficPolicy > PolicyLocal || s.InternalTrafficPolicy > PolicyLocal {
		return problemf("traffic policy %v/%v unknown", s.ExternalTrafficPolicy, s.InternalTrafficPolicy)
	}
	if s.Type == ExternalName && s.ExternalName == "" {
		return problem("externalName: empty on an ExternalName service")
	}
	if err := s.validateAddrs(); err != nil {
		return err
	}
	if err := s.validatePorts(); err != nil {
		return err
	}
	if s.AffinityTimeout < 0 || s.AffinityTimeout > MaxAffinityTimeout {
		return problemf("affinity timeout %v: not within 0..%v", s.AffinityTimeout, MaxAffinityTimeout)
	}
	for i := range s.Slices {
		if err := validateSlice(&s.Slices[i]); err != nil {
			return problemf("slice %q: %v", s.Slices[i].Name, err)
		}
	}
	return nil
}

func (s *Service) validateAddrs() error {
	if (s.Headless || s.Type == ExternalName) && len(s.ClusterIPs) > 0 {
		return problem("clusterIPs: set on a headless or ExternalName service")
	}
	var seen [7]bool
	for _, a := range s.ClusterIPs {
		f := IPFamilyOf(a)
		if f == 0 || a.IsUnspecified() || a.Zone() != "" {
			return problemf("clusterIPs: %v is not a usable address", a)
		}
		if seen[f] {
			return problemf("clusterIPs: two addresses of family %v", f)
		}
		seen[f] = true
	}
	seen = [7]bool{}
	for _, f := range s.IPFamilies {
		if (f != IPv4 && f != IPv6) || seen[f] {
			return problemf("ipFamilies %v: at most one IPv4 and one IPv6", s.IPFamilies)
		}
		seen[f] = true
	}
	for _, list := range []struct {
		field string
		addrs []netip.Addr
	}{{"externalIPs", s.ExternalIPs}, {"loadBalancerIPs", s.LoadBalancerIPs}} {
		for _, a := range list.addrs {
			if !a.IsValid() || a.IsUnspecified() || a.Zone() != "" {
				return problemf("%s: %v is not a usable address", list.field, a)
			}
		}
	}
	for _, p := range s.LoadBalancerSourceRanges {
		if !p.IsValid() {
			return problemf("loadBalancerSourceRanges: %v is not a prefix", p)
		}
	}
	return nil
}

func (s *Service) validatePorts() error {
	type np struct {
		name string
		p    Protocol
	}
	type pp struct {
		port uint16
		p    Protocol
	}
	names, numbers := map[np]bool{}, map[pp]bool{}
	for _, p := range s.Ports {
		switch {
		case p.Port == 0:
			return problemf("port %q: no number", p.Name)
		case p.Protocol > SCTP:
			return problemf("port %q: protocol %v unknown", p.Name, p.Protocol)
		case p.Name == "" && len(s.Ports) > 1:
			return problemf("port %d: a service with several ports names each", p.Port)
		case names[np{p.Name, p.Protocol}]:
			return problemf("port %q/%v: named twice", p.Name, p.Protocol)
		case numbers[pp{p.Port, p.Protocol}]:
			return problemf("port %d/%v: used twice", p.Port, p.Protocol)
		case p.NodePort != 0 && s.Type != NodePort && s.Type != LoadBalancer:
			return problemf("port %q: nodePort %d on a %v service", p.Name, p.NodePort, s.Type)
		}
		names[np{p.Name, p.Protocol}], numbers[pp{p.Port, p.Protocol}] = true, true
	}
	return nil
}

func validateSlice(sl *endpoints.Slice) error {
	fam := IPFamily(sl.Family)
	if fam != IPv4 && fam != IPv6 {
		return problemf("family %d unknown", sl.Family)
	}
	for _, p := range sl.Ports {
		if p.Port == 0 {
			return problemf("port %q: no number", p.Name)
		}
		if Protocol(p.Protocol) > SCTP {
			return problemf("port %q: protocol %v unknown", p.Name, p.Protocol)
		}
	}
	for _, e := range sl.Endpoints {
		if IPFamilyOf(e.Address) != fam || e.Address.IsUnspecified() || e.Address.Is4In6() {
			return problemf("endpoint %v: not a usable %v address", e.Address, fam)
		}
	}
	return nil
}

// Validate checks every service with Service.Validate and that the
// services are sorted by namespace and name without repeats. The errors
// wrap ErrInvalid.
func (st *State) Validate() error {
	for i := range st.Services {
		s := st.Services[i]
		if s == nil {
			return fmt.Errorf("%w: service %d is nil", ErrInvalid, i)
		}
		if err := s.Validate(); err != nil {
			return err
		}
		if i > 0 && compareRef(st.Services[i-1].Ref(), s.Ref()) >= 0 {
			return fmt.Errorf("%w: service %s: out of order or repeated", ErrInvalid, s.Ref())
		}
	}
	return nil
}
