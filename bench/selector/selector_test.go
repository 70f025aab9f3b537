// Package selector compares svcnet's selector with Kubernetes'
// k8s.io/apimachinery/pkg/labels on the same inputs. It lives in its own
// module so that the library never depends on apimachinery.
//
//	cd bench && go test -bench . -benchmem ./selector
package selector

import (
	"fmt"
	"slices"
	"testing"

	k8s "k8s.io/apimachinery/pkg/labels"

	"github.com/svcnet/svcnet/selector"
)

const expr = "app=web,tier in (frontend,backend),!canary,version!=v1"

var labels10 = map[string]string{
	"app": "web", "tier": "frontend", "version": "v2", "team": "shop", "env": "prod",
	"region": "eu", "zone": "eu-1a", "release": "stable", "owner": "alice", "pod-template-hash": "5d4f8c",
}

// TestSameAnswers makes sure both implementations agree on what the
// benchmarks measure, so that the ratios compare equal work.
func TestSameAnswers(t *testing.T) {
	inputs := []string{"", expr, "a", "!a", "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a>3", "a<3", "a in ()", "a,b,c=d"}
	sets := []map[string]string{{}, labels10, {"a": "x"}, {"a": "2"}, {"a": "5"}, {"a": "b", "b": "", "c": "d"}, {"a": "abc"}}
	for _, in := range inputs {
		ours, err1 := selector.Parse(in)
		theirs, err2 := k8s.Parse(in)
		if (err1 == nil) != (err2 == nil) {
			t.Errorf("Parse(%q): ours err %v, Kubernetes err %v", in, err1, err2)
			continue
		}
		if err1 != nil {
			continue
		}
		if ours.String() != theirs.String() {
			t.Errorf("Parse(%q).String() = %q; Kubernetes %q", in, ours.String(), theirs.String())
		}
		for _, s := range sets {
			if a, b := ours.Matches(selector.Set(s)), theirs.Matches(k8s.Set(s)); a != b {
				t.Errorf("Parse(%q).Matches(%v) = %v; Kubernetes %v", in, s, a, b)
			}
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.Run("svcnet", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := selector.Parse(expr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apimachinery", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := k8s.Parse(expr); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMatches(b *testing.B) {
	const five = "app=web,tier in (frontend,backend),!canary,version!=v1,env"
	ours := selector.MustParse(five)
	theirs, err := k8s.Parse(five)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("svcnet", func(b *testing.B) {
		l := selector.Set(labels10)
		b.ReportAllocs()
		for range b.N {
			if !ours.Matches(l) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("apimachinery", func(b *testing.B) {
		l := k8s.Set(labels10)
		b.ReportAllocs()
		for range b.N {
			if !theirs.Matches(l) {
				b.Fatal("no match")
			}
		}
	})
}

// BenchmarkWhichMatch asks which of n service selectors (app=X,tier=Y over
// 1,000 apps) match one pod: ours through the Index, Kubernetes' by a
// linear scan, which is what its controllers do.
func BenchmarkWhichMatch(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		idx := selector.NewIndex[int]()
		theirs := make([]k8s.Selector, n)
		for i := range n {
			m := map[string]string{"app": fmt.Sprintf("app-%d", i%1000), "tier": fmt.Sprintf("t%d", i%3)}
			idx.Set(i, selector.FromMap(m))
			theirs[i] = k8s.SelectorFromSet(m)
		}
		pod := map[string]string{"app": "app-42", "tier": "t0", "pod-template-hash": "5d4f8c"}
		// The two sides must find the same selectors for the ratio to mean
		// anything.
		var want []int
		for i, s := range theirs {
			if s.Matches(k8s.Set(pod)) {
				want = append(want, i)
			}
		}
		got := idx.AppendMatches(nil, selector.Set(pod))
		slices.Sort(got)
		if !slices.Equal(got, want) || len(want) == 0 {
			b.Fatalf("Index finds %v; the linear scan %v", got, want)
		}
		b.Run(fmt.Sprintf("svcnet/selectors=%d", n), func(b *testing.B) {
			dst := make([]int, 0, 256)
			l := selector.Set(pod)
			b.ReportAllocs()
			for range b.N {
				dst = idx.AppendMatches(dst[:0], l)
			}
		})
		b.Run(fmt.Sprintf("apimachinery/selectors=%d", n), func(b *testing.B) {
			dst := make([]int, 0, 256)
			l := k8s.Set(pod)
			b.ReportAllocs()
			for range b.N {
				dst = dst[:0]
				for i, s := range theirs {
					if s.Matches(l) {
						dst = append(dst, i)
					}
				}
			}
		})
	}
}
