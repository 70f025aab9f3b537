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
	s.Ports = convert(w.Ports, func(p *wirePort) Port { return Port(*p) })
	s.Slices = convert(w.Slices, sliceFromWire)
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
	sl.Ports = convert(w.Ports, func(p *wireSlicePort) endpoints.Port {
		return endpoints.Port{Name: intern(p.Name), Protocol: endpoints.Protocol(p.Protocol), Port: p.Port, AppProtocol: intern(p.AppProtocol)}
	})
	sl.Endpoints = convert(w.Endpoints, func(e *wireEndpoint) endpoints.Endpoint {
		return endpoints.Endpoint{
			Address:    e.Address,
			Conditions: endpoints.Conditions{Ready: e.Ready, Serving: e.Serving, Terminating: e.Terminating},
			Hostname:   e.Hostname, NodeName: intern(e.NodeName), Zone: intern(e.Zone),
			TargetRef: endpoints.Ref{Namespace: intern(e.RefNS), Name: e.RefName},
			Hints:     endpoints.Hints{ForZone: intern(e.ForZone), ForNode: intern(e.ForNode)},
		}
	})
	return sl
}

// convert converts every element of in into an array of exactly its
// length (nil for none): a node holds every decoded Service for as long as
// it runs, and appending would leave up to half of each array unused.
func convert[W, T any](in []W, f func(*W) T) []T {
	if len(in) == 0 {
		return nil
	}
	out := make([]T, len(in))
	for i := range in {
		out[i] = f(&in[i])
	}
	return out
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
