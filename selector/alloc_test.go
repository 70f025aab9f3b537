package selector

import (
	"fmt"
	"testing"
)

var (
	sinkBool bool
	sinkKeys []int
	sinkSel  Selector
)

const benchSelector = "app=web,tier in (frontend,backend),!canary,version!=v1"

func benchLabels() Set {
	return Set{
		"app": "web", "tier": "frontend", "version": "v2", "zone": "a", "team": "shop",
		"release": "stable", "track": "main", "env": "prod", "owner": "sre", "example.com/cost": "42",
	}
}

func TestNoAllocs(t *testing.T) {
	sel := MustParse(benchSelector + ",n>3")
	l := benchLabels()
	var ml Labels = mapLabels(l)
	x := buildIndex(1000, 100)
	dst := make([]int, 0, 64)
	q := Set{"app": "app7", "tier": "t1"}
	gt := MustParse("n>3")
	nonInt := mapLabels{"n": "many"}
	buf := make([]byte, 0, 128)
	tests := []struct {
		name string
		f    func()
	}{
		{"Matches/Set", func() { sinkBool = sel.Matches(l) }},
		{"Matches/Labels", func() { sinkBool = sel.Matches(ml) }},
		{"Matches/non-integer", func() { sinkBool = gt.Matches(nonInt) }},
		{"AppendMatches/Set", func() { sinkKeys = x.AppendMatches(dst[:0], q) }},
		{"AppendMatches/Labels", func() { sinkKeys = x.AppendMatches(dst[:0], mapLabels(q)) }},
		{"AppendTo", func() { buf = sel.AppendTo(buf[:0]) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
			t.Errorf("%s: %v allocs per run; want 0", tt.name, n)
		}
	}
	if len(x.AppendMatches(dst[:0], q)) == 0 {
		t.Fatalf("AppendMatches(%v) found nothing; the allocation test would be vacuous", q)
	}
}

// buildIndex files n selectors "app=appX[,tier=tY]" over apps distinct
// apps, the shape of Services in a cluster: tiers t0-t2, so many Services
// share a selector.
func buildIndex(n, apps int) *Index[int] {
	return buildIndexTiers(n, apps, 3)
}

// buildIndexTiers is buildIndex with tiers distinct tier values; with tiers
// = n every selector is different and none can be grouped.
func buildIndexTiers(n, apps, tiers int) *Index[int] {
	x := NewIndex[int]()
	for i := range n {
		s := fmt.Sprintf("app=app%d", i%apps)
		if i%2 == 0 {
			s += fmt.Sprintf(",tier=t%d", i%tiers)
		}
		x.Set(i, MustParse(s))
	}
	return x
}

func BenchmarkMatches(b *testing.B) {
	sel := MustParse("app=web,tier in (frontend,backend),!canary,version!=v1,env")
	l := benchLabels()
	if !sel.Matches(l) {
		b.Fatal("benchmark selector does not match")
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkBool = sel.Matches(l)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkSel, _ = Parse(benchSelector)
	}
}

func BenchmarkString(b *testing.B) {
	sel := MustParse(benchSelector)
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = sel.AppendTo(buf[:0])
	}
}

func BenchmarkIndexAppendMatches(b *testing.B) {
	for _, bc := range []struct{ n, tiers int }{{10_000, 3}, {100_000, 3}, {10_000, 10_000}, {100_000, 100_000}} {
		b.Run(fmt.Sprintf("selectors=%d/tiers=%d", bc.n, bc.tiers), func(b *testing.B) {
			x := buildIndexTiers(bc.n, 1000, bc.tiers)
			l := Set{"app": "app42", "tier": fmt.Sprintf("t%d", 42%bc.tiers), "zone": "a", "version": "v2"}
			dst := make([]int, 0, 1024)
			want := len(x.AppendMatches(nil, l))
			if want == 0 {
				b.Fatal("no match")
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				sinkKeys = x.AppendMatches(dst[:0], l)
			}
		})
	}
}

func BenchmarkIndexSet(b *testing.B) {
	const n = 100_000
	x := buildIndex(n, 1000)
	sels := make([]Selector, 1000)
	for i := range sels {
		sels[i] = MustParse(fmt.Sprintf("app=app%d,tier=t%d", i, i%3))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// Every pass over the keys gives each a selector other than its
		// last, so that every Set is a real change, not a no-op.
		x.Set(i%n, sels[(i+i/n)%len(sels)])
		i++
	}
}
