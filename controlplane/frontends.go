package controlplane

import (
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/resolved"
)

// frontend is an address, port and protocol a service answers on: what a
// node's dataplane refuses to give two service ports (ErrConflict).
type frontend struct {
	addr  netip.Addr
	port  uint16
	proto resolved.Protocol
}

// appendFrontends appends every frontend of s: each port on each
// ClusterIP, external IP and LoadBalancer address. Headless and
// ExternalName services have none.
func appendFrontends(dst []frontend, s *resolved.Service) []frontend {
	if s.Headless || s.Type == resolved.ExternalName {
		return dst
	}
	for _, list := range [...][]netip.Addr{s.ClusterIPs, s.ExternalIPs, s.LoadBalancerIPs} {
		for _, a := range list {
			for _, p := range s.Ports {
				dst = append(dst, frontend{a, p.Port, p.Protocol})
			}
		}
	}
	return dst
}

// claimFrontends refuses the services that claim a frontend another one
// holds — an external IP on another service's ClusterIP or LoadBalancer
// address and port, two services on one external IP and port, or one
// address listed twice by a service — and returns the rest, in order.
// The established service keeps a frontend: one that published it last
// time holds it first, then the others claim in order (a source lists
// established objects first). Node ports need no check: the allocator
// never gives one to two services.
func (c *ControlPlane) claimFrontends(out []*resolved.Service, refused map[resolved.Ref]error) []*resolved.Service {
	owners := make(map[frontend]resolved.Ref, len(c.owners))
	fes := make([][]frontend, len(out))
	for i, s := range out {
		fes[i] = appendFrontends(nil, s)
		for _, f := range fes[i] {
			if c.owners[f] == s.Ref() {
				owners[f] = s.Ref()
			}
		}
	}
	kept := out[:0]
	for i, s := range out {
		if err := claim(owners, s.Ref(), fes[i]); err != nil {
			refused[s.Ref()] = err
			continue
		}
		kept = append(kept, s)
	}
	c.owners = owners
	return kept
}

// claim gives r every frontend in fes unless another service holds one
// or r lists one twice; then it claims nothing new and says why.
func claim(owners map[frontend]resolved.Ref, r resolved.Ref, fes []frontend) error {
	for i, f := range fes {
		if o, ok := owners[f]; ok && o != r {
			return fmt.Errorf("service %s: %v/%v is already %s's: %w", r, netip.AddrPortFrom(f.addr, f.port), f.proto, o, ErrConflict)
		}
		for _, g := range fes[:i] {
			if g == f {
				return fmt.Errorf("service %s: %v/%v listed twice (as a ClusterIP, external IP or LoadBalancer address): %w", r, netip.AddrPortFrom(f.addr, f.port), f.proto, ErrConflict)
			}
		}
	}
	for _, f := range fes {
		owners[f] = r
	}
	return nil
}
