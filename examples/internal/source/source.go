// Package source adapts a manifests directory to the control plane: it is
// the reference proxy's controlplane.Source. Manifest errors (a bad file,
// document or object) are logged with their file, document and field; the
// objects that loaded are passed on.
package source

import (
	"context"
	"log/slog"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/resolved"
)

// Manifests is a controlplane.Source over a manifests.Latest that a
// manifests Watch stores into. The zero value is not usable: set Latest.
// Safe for use by one control plane at a time.
type Manifests struct {
	Latest *manifests.Latest
	// Log receives the manifest errors of each load. Zero means discard.
	Log *slog.Logger
}

var _ controlplane.Source = (*Manifests)(nil)

// Next implements controlplane.Source.
func (m *Manifests) Next(ctx context.Context, after uint64) (controlplane.Input, uint64, error) {
	set, errs, gen, err := m.Latest.Next(ctx, after)
	if err != nil {
		return controlplane.Input{}, after, err
	}
	if m.Log != nil {
		for _, e := range errs {
			m.Log.Error("manifest refused", "err", e)
		}
		for i := range set.Pods {
			if p := &set.Pods[i]; len(p.IPs) == 0 {
				m.Log.Info("pod has no status.podIP (or podIPs): it yields no endpoint", "pod", p.Key(), "file", p.Source.File)
			}
		}
	}
	return Input(&set), gen, nil
}

// Input converts a loaded manifest set to the control plane's input.
func Input(set *manifests.Set) controlplane.Input {
	zones := set.Zones()
	in := controlplane.Input{Workloads: make([]endpoints.Workload, len(set.Pods)),
		Services: make([]controlplane.Service, 0, len(set.Services))}
	for i := range set.Pods {
		in.Workloads[i] = set.Pods[i].Workload(zones[set.Pods[i].Node])
	}
	slices := map[resolved.Ref][]endpoints.Slice{}
	for i := range set.EndpointSlices {
		es := &set.EndpointSlices[i]
		if sl, ok := es.Slice(); ok {
			r := resolved.Ref{Namespace: es.Namespace, Name: es.Service}
			slices[r] = append(slices[r], sl)
		}
	}
	for i := range set.Services {
		s := &set.Services[i]
		in.Services = append(in.Services, Service(s, slices[resolved.Ref{Namespace: s.Namespace, Name: s.Name}]))
	}
	return in
}

// Service converts one manifest Service, with the EndpointSlices written
// for it (read only when it has no selector).
func Service(s *manifests.Service, slices []endpoints.Slice) controlplane.Service {
	spec := resolved.Service{
		Namespace: s.Namespace, Name: s.Name, Type: resolved.ServiceType(s.Type), Headless: s.Headless,
		ClusterIPs: s.ClusterIPs, ExternalIPs: s.ExternalIPs, LoadBalancerIPs: s.LoadBalancerIPs,
		LoadBalancerSourceRanges: s.SourceRanges, HealthCheckNodePort: s.HealthCheckNodePort,
		ExternalTrafficPolicy: resolved.TrafficPolicy(s.ExternalTrafficPolicy),
		InternalTrafficPolicy: resolved.TrafficPolicy(s.InternalTrafficPolicy),
		ClientIPAffinity:      s.AffinityTimeout > 0, AffinityTimeout: s.AffinityTimeout,
		ExternalName: s.ExternalName, TrafficDistribution: s.TrafficDistribution,
		PublishNotReadyAddresses: s.PublishNotReadyAddresses,
	}
	if len(s.Selector) == 0 {
		spec.Slices = slices
	}
	for _, f := range s.IPFamilies {
		spec.IPFamilies = append(spec.IPFamilies, resolved.IPFamily(f))
	}
	for _, p := range s.Ports {
		spec.Ports = append(spec.Ports, resolved.Port{Name: p.Name, Protocol: resolved.Protocol(p.Protocol), Port: p.Port,
			TargetPort: p.TargetPort.Number, TargetPortName: p.TargetPort.Name, NodePort: p.NodePort, AppProtocol: p.AppProtocol})
	}
	return controlplane.Service{Spec: spec, Selector: s.Selector, Labels: s.Labels,
		IPFamilyPolicy:          allocator.IPFamilyPolicy(s.IPFamilyPolicy),
		NoLoadBalancerNodePorts: s.NoLoadBalancerNodePorts, LoadBalancerIngress: s.LoadBalancerIngress}
}
