package etcd

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/svcnet/svcnet/resolved"
)

// BenchmarkDeliveryUpdate: the cost of turning one Update that changes one of
// 10,000 Services into the next whole State, as a node does on every change.
func BenchmarkDeliveryUpdate(b *testing.B) {
	d := NewServiceDelivery(nil, "/bench/")
	first := Update[*resolved.Service]{Revision: 1, Relisted: true}
	for i := range 10000 {
		s := testService(fmt.Sprintf("svc-%05d", i), i, 10)
		first.Changed = append(first.Changed, Named[*resolved.Service]{s.Ref().String(), s})
	}
	d.apply(first)
	b.ReportAllocs()
	rev := int64(1)
	for b.Loop() {
		rev++
		s := first.Changed[rev%10000].Value
		s.Revision = uint64(rev)
		d.apply(Update[*resolved.Service]{Revision: rev, Changed: []Named[*resolved.Service]{{s.Ref().String(), s}}})
	}
}

// TestDeliveryApply: random Updates folded into States equal, after each, the
// Services the Updates describe, sorted by namespace then name (not by key: a
// namespace "a-b" sorts after "a", though "a-b/x" sorts before "a/x"); unchanged
// Services keep their slices' memory from one State to the next; a Service
// published under another's key is refused.
func TestDeliveryApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := NewServiceDelivery(nil, "/t/")
	model := map[string]*resolved.Service{}
	var prev *resolved.State
	for rev := int64(1); rev <= 300; rev++ {
		u := Update[*resolved.Service]{Revision: rev}
		touched := map[string]bool{}
		for range rng.IntN(6) {
			s := testService(fmt.Sprintf("s%d", rng.IntN(30)), rng.IntN(200), 1+rng.IntN(3))
			s.Namespace = []string{"a", "a-b", "b", "a0"}[rng.IntN(4)]
			key := s.Ref().String()
			if touched[key] {
				continue
			}
			touched[key] = true
			if _, ok := model[key]; ok && rng.IntN(3) == 0 {
				u.Removed = append(u.Removed, key)
				delete(model, key)
				continue
			}
			u.Changed = append(u.Changed, Named[*resolved.Service]{key, s})
			model[key] = s
		}
		st, invalid := d.apply(u)
		if len(invalid) != 0 {
			t.Fatalf("revision %d: invalid %v", rev, invalid)
		}
		want := slices.Collect(maps.Values(model))
		slices.SortFunc(want, func(a, b *resolved.Service) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		if !reflect.DeepEqual(st.Services, want) {
			t.Fatalf("revision %d: State differs from the model", rev)
		}
		if prev != nil {
			checkShared(t, prev, st, touched)
		}
		prev = st
	}
	s := testService("x", 1, 1)
	if _, invalid := d.apply(Update[*resolved.Service]{Revision: 301, Changed: []Named[*resolved.Service]{{"default/y", s}}}); len(invalid) != 1 {
		t.Errorf("a Service under another's key: invalid = %v; want it refused", invalid)
	}
}

// checkShared fails when a Service untouched between two States is not the very
// Service of the previous one.
func checkShared(t *testing.T, prev, next *resolved.State, touched map[string]bool) {
	t.Helper()
	for _, s := range next.Services {
		if touched[s.Ref().String()] {
			continue
		}
		if old := prev.Lookup(s.Ref()); old != s {
			t.Fatalf("revision %d: unchanged %s was copied deep or lost", next.Version, s.Ref())
		}
	}
}
