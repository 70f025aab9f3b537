package endpoints

import (
	"sync"

	"github.com/svcnet/svcnet/selector"
)

// ServiceIndex answers the reverse question of Desired: which services
// select a workload. A controller asks it when a workload changes, to
// recompute only the services that select the workload now or did before.
// The cost of a lookup grows with the workload's labels and the matches,
// not with the number of services (selector.Index underneath, one per
// namespace, since a service selects only workloads of its own namespace).
//
// The zero value is an empty index, ready to use, as [selector.Index] is.
// Safe for concurrent use; lookups do not block each other.
type ServiceIndex struct {
	mu   sync.RWMutex // guards the map; the indexes guard themselves
	byNS map[string]*selector.Index[Ref]
}

// NewServiceIndex returns an empty index; new(ServiceIndex) is the same.
func NewServiceIndex() *ServiceIndex { return &ServiceIndex{} }

// Set adds or replaces s's selector. A service without a selector selects
// nothing and is removed.
func (x *ServiceIndex) Set(s *Service) {
	ref := Ref{Namespace: s.Namespace, Name: s.Name}
	sel := selector.FromMap(s.Selector)
	if sel.IsZero() {
		x.Delete(ref)
		return
	}
	// Held across idx.Set: a Delete emptying the namespace in between
	// would drop idx from byNS, and the service with it.
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.byNS == nil {
		x.byNS = map[string]*selector.Index[Ref]{}
	}
	idx := x.byNS[s.Namespace]
	if idx == nil {
		idx = selector.NewIndex[Ref]()
		x.byNS[s.Namespace] = idx
	}
	idx.Set(ref, sel)
}

// Delete removes the service ref.
func (x *ServiceIndex) Delete(ref Ref) {
	x.mu.Lock()
	defer x.mu.Unlock()
	idx := x.byNS[ref.Namespace]
	if idx == nil {
		return
	}
	idx.Delete(ref)
	if idx.Len() == 0 {
		delete(x.byNS, ref.Namespace)
	}
}

// AppendSelecting appends the services that select w to dst, in no
// particular order. It does not allocate when dst has room.
func (x *ServiceIndex) AppendSelecting(dst []Ref, w *Workload) []Ref {
	x.mu.RLock()
	idx := x.byNS[w.Namespace]
	x.mu.RUnlock()
	if idx == nil {
		return dst
	}
	return idx.AppendMatches(dst, selector.Set(w.Labels))
}
