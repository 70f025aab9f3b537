package resolved

import (
	"time"
	"unique"

	"github.com/svcnet/svcnet/endpoints"
)

func toWire(s *Service) wireService {
	w := wireService{
		Namespace: s.Namespace, Name: s.Name, Revision: s.Revision, Type: s.Type, Headless: s.Headless,
		ClusterIPs: s.ClusterIPs, IPFamilies: s.IPFamilies, ExternalIPs: s.ExternalIPs,
		LoadBalancerIPs: s.LoadBalancerIPs, SourceRanges: s.LoadBalancerSourceRanges,
		HealthCheckNodePort: s.HealthCheckNodePort, ExternalPolicy: s.ExternalTrafficPolicy,
		InternalPolicy: s.InternalTrafficPolicy, ClientIPAffinity: s.ClientIPAffinity,
		AffinitySeconds: int64(s.AffinityTimeout / time.Second), ExternalName: s.ExternalName,
		ConsistentHash: s.ConsistentHash, TrafficDistribution: s.TrafficDistribution,
		PublishNotReady: s.PublishNotReadyAddresses,
	}
	for _, p := range s.Ports {
		w.Ports = append(w.Ports, wirePort(p))
	}
	for i := range s.Slices {
		w.Slices = append(w.Slices, sliceToWire(&s.Slices[i]))
	}
	return w
}

func fromWire(w *wireService) Service {
	s := Service{
		Namespace: w.Namespace, Name: w.Name, Revision: w.Revision, Type: w.Type, Headless: w.Headless,
		ClusterIPs: w.ClusterIPs, IPFamilies: w.IPFamilies, ExternalIPs: w.ExternalIPs,
		LoadBalancerIPs: w.LoadBalancerIPs, LoadBalancerSourceRanges: w.SourceRanges,
		HealthCheckNodePort: w.HealthCheckNodePort, ExternalTrafficPolicy: w.ExternalPolicy,
		InternalTrafficPolicy: w.InternalPolicy, ClientIPAffinity: w.ClientIPAffinity,
		AffinityTimeout: seconds(w.AffinitySeconds), ExternalName: w.ExternalName, ConsistentHash: w.ConsistentHash,
		TrafficDistribution: w.TrafficDistribution, PublishNotReadyAddresses: w.PublishNotReady,
	}
	// Sized exactly: a node holds every decoded Service for as long as it
	// runs, and appending would leave up to half of each array unused.
	if len(w.Ports) > 0 {
		s.Ports = make([]Port, len(w.Ports))
		for i, p := range w.Ports {
			s.Ports[i] = Port(p)
		}
	}
	if len(w.Slices) > 0 {
		s.Slices = make([]endpoints.Slice, len(w.Slices))
		for i := range w.Slices {
			s.Slices[i] = sliceFromWire(&w.Slices[i])
		}
	}
	return s
}

func sliceToWire(sl *endpoints.Slice) wireSlice {
	w := wireSlice{Name: sl.Name, Family: IPFamily(sl.Family), Labels: sl.Labels}
	for _, p := range sl.Ports {
		w.Ports = append(w.Ports, wireSlicePort{Name: p.Name, Protocol: Protocol(p.Protocol), Port: p.Port, AppProtocol: p.AppProtocol})
	}
	for _, e := range sl.Endpoints {
		w.Endpoints = append(w.Endpoints, wireEndpoint{
			Address: e.Address, Ready: e.Conditions.Ready, Serving: e.Conditions.Serving, Terminating: e.Conditions.Terminating,
			Hostname: e.Hostname, NodeName: e.NodeName, Zone: e.Zone, RefNS: e.TargetRef.Namespace, RefName: e.TargetRef.Name,
			ForZone: e.Hints.ForZone, ForNode: e.Hints.ForNode,
		})
	}
	return w
}

func sliceFromWire(w *wireSlice) endpoints.Slice {
	sl := endpoints.Slice{Name: w.Name, Family: endpoints.IPFamily(w.Family), Labels: w.Labels}
	if len(w.Ports) > 0 {
		sl.Ports = make([]endpoints.Port, len(w.Ports))
		for i, p := range w.Ports {
			sl.Ports[i] = endpoints.Port{Name: intern(p.Name), Protocol: endpoints.Protocol(p.Protocol), Port: p.Port, AppProtocol: intern(p.AppProtocol)}
		}
	}
	if len(w.Endpoints) > 0 {
		sl.Endpoints = make([]endpoints.Endpoint, len(w.Endpoints))
		for i := range w.Endpoints {
			e := &w.Endpoints[i]
			sl.Endpoints[i] = endpoints.Endpoint{
				Address:    e.Address,
				Conditions: endpoints.Conditions{Ready: e.Ready, Serving: e.Serving, Terminating: e.Terminating},
				Hostname:   e.Hostname, NodeName: intern(e.NodeName), Zone: intern(e.Zone),
				TargetRef: endpoints.Ref{Namespace: intern(e.RefNS), Name: e.RefName},
				Hints:     endpoints.Hints{ForZone: intern(e.ForZone), ForNode: intern(e.ForNode)},
			}
		}
	}
	return sl
}

// intern returns the one shared copy of a string that many endpoints
// repeat (a node name, a zone, a namespace, a port name), so that a node
// holding every Service keeps each such string once rather than once per
// endpoint.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// seconds converts a wire timeout; one beyond MaxAffinityTimeout (even one
// that would overflow a Duration) stays beyond it, for Validate to refuse.
func seconds(n int64) time.Duration {
	return time.Duration(min(max(n, -1), int64(MaxAffinityTimeout/time.Second)+1)) * time.Second
}
