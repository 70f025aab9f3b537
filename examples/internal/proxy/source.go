package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/dnsname"
	"github.com/svcnet/svcnet/examples/internal/source"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/nodeagent"
	"github.com/svcnet/svcnet/resolved"
)

// manifestSource is the control plane's Source over a manifests Watch.
// Unlike a bare source.Manifests, it tells a directory it cannot list from
// an empty one: that load is returned as an error, so the control plane
// keeps serving the last good input (and says why in its health) instead
// of removing every service. Files it cannot read are passed over (the
// loader keeps the rest) and reported through readProblem.
type manifestSource struct {
	latest   *manifests.Latest
	log      *slog.Logger
	errs     *atomic.Uint64 // manifest errors, for metrics
	readErrs *atomic.Uint64 // loads that could not list the directory
	// pods, when set, receives the pods of every load, for verified pod
	// DNS records.
	pods func([]dnsname.Pod)

	mu      sync.Mutex // protects problem and seen
	problem error      // why the last load could not read everything; nil when it could
	seen    uint64     // the last generation logged and counted
}

var _ controlplane.Source = (*manifestSource)(nil)

// Next implements controlplane.Source.
func (m *manifestSource) Next(ctx context.Context, after uint64) (controlplane.Input, uint64, error) {
	set, errs, gen, err := m.latest.Next(ctx, after)
	if err != nil {
		return controlplane.Input{}, after, err
	}
	unread := m.note(gen, errs)
	for _, e := range unread {
		if errors.Is(e, manifests.ErrDirectory) {
			// Keep gen: the next call returns this load again until a
			// new one replaces it, and the control plane keeps retrying.
			return controlplane.Input{}, after, fmt.Errorf("manifests: %w", e)
		}
	}
	for i := range set.Pods {
		if p := &set.Pods[i]; len(p.IPs) == 0 {
			m.log.Info("pod has no status.podIP (or podIPs): it yields no endpoint", "pod", p.Key(), "file", p.Source.File)
		}
	}
	if m.pods != nil {
		m.pods(dnsPods(set.Pods))
	}
	return source.Input(&set), gen, nil
}

// note logs and counts the errors of load gen once, and records which of
// them mean a manifest could not be read; it returns those.
func (m *manifestSource) note(gen uint64, errs []error) []error {
	var unread []error
	for _, e := range errs {
		if errors.Is(e, manifests.ErrDirectory) || errors.Is(e, manifests.ErrUnreadable) || errors.Is(e, manifests.ErrNotRegular) {
			unread = append(unread, e)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.problem = nil
	for _, e := range unread {
		if !errors.Is(e, manifests.ErrDirectory) { // that one is the control plane's read error
			m.problem = errors.Join(m.problem, e)
		}
	}
	if gen != m.seen {
		m.seen = gen
		m.errs.Add(uint64(len(errs)))
		for _, e := range unread {
			if errors.Is(e, manifests.ErrDirectory) {
				m.readErrs.Add(1)
			}
		}
		for _, e := range errs {
			m.log.Error("manifest refused", "err", e)
		}
	}
	return unread
}

// dnsPods lists the pods verified pod records may answer for: those with
// an address that have not ended, as CoreDNS's pod index holds them.
func dnsPods(pods []manifests.Pod) []dnsname.Pod {
	var out []dnsname.Pod
	for i := range pods {
		p := &pods[i]
		if len(p.IPs) > 0 && p.Phase != "Succeeded" && p.Phase != "Failed" {
			out = append(out, dnsname.Pod{Namespace: p.Namespace, Name: p.Name, Addrs: p.IPs})
		}
	}
	return out
}

// readProblem returns why the last load could not read every manifest.
func (m *manifestSource) readProblem() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.problem
}

// recorder is the node agent's Delivery: it passes on what d delivers and
// keeps the last state, for Proxy.State.
type recorder struct {
	d    nodeagent.Delivery
	last atomic.Pointer[resolved.State]
}

func (r *recorder) Next(ctx context.Context, after uint64) (*resolved.State, error) {
	st, err := r.d.Next(ctx, after)
	if err == nil {
		r.last.Store(st)
	}
	return st, err
}
