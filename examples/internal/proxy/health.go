package proxy

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

// Health is what the proxy's parts last did. The zero value is a proxy
// that has not synced.
type Health struct {
	// ControlPlane is the control plane's health; nil in node-only mode.
	ControlPlane *controlplane.Health
	// Agent is the node agent's health.
	Agent nodeagent.Health
	// Manifests is why the last load could not read every manifest file
	// (not a regular file, unreadable); nil when it could. A directory
	// that cannot be listed is the control plane's read error.
	Manifests error
	// DNS is why the DNS server does not answer from the catalog yet;
	// nil when it does or none is configured.
	DNS error
}

var errDNSNotReady = errors.New("not answering from the catalog until the first sync")

// Health returns the proxy's health.
func (p *Proxy) Health() Health {
	var h Health
	if p.cp != nil {
		cph := p.cp.Health()
		h.ControlPlane = &cph
		h.Manifests = p.src.readProblem()
	}
	if a := p.agent.Load(); a != nil {
		h.Agent = a.Health()
	}
	if p.cfg.DNSListen != "" && !p.dnsReady.Load() {
		h.DNS = errDNSNotReady
	}
	return h
}

// OK reports whether every part works, and otherwise every reason it
// does not: a sync that failed (or has not happened), manifests that
// cannot be read, allocations that could not be persisted, a DNS server
// that does not answer yet. Services refused one by one do not make the
// proxy unhealthy, since every other one is served; they are in the
// health's fields and the metrics.
func (h Health) OK() (bool, string) {
	var why []string
	if h.ControlPlane != nil {
		if ok, r := h.ControlPlane.OK(); !ok {
			why = append(why, "control plane: "+r)
		}
	}
	if h.Manifests != nil {
		why = append(why, "manifests: "+h.Manifests.Error())
	}
	if ok, r := h.Agent.OK(); !ok {
		why = append(why, "node: "+r)
	}
	if h.DNS != nil {
		why = append(why, "dns: "+h.DNS.Error())
	}
	return len(why) == 0, strings.Join(why, "; ")
}

// Refused returns the services left out, each with why: by the control
// plane (allocation, admission) or by the node (validation, the kernel).
func (h Health) Refused() map[resolved.Ref]error {
	out := map[resolved.Ref]error{}
	if h.ControlPlane != nil {
		maps.Copy(out, h.ControlPlane.Refused)
	}
	var se *nodeagent.SyncError
	if errors.As(h.Agent.SyncErr, &se) {
		maps.Copy(out, se.Refused)
	}
	return out
}

// writeRefused writes one line per refused service, sorted.
func writeRefused(w io.Writer, refused map[resolved.Ref]error) {
	refs := slices.SortedFunc(maps.Keys(refused), func(a, b resolved.Ref) int {
		return strings.Compare(a.String(), b.String())
	})
	for _, r := range refs {
		fmt.Fprintf(w, "refused %s: %v\n", r, refused[r])
	}
}
