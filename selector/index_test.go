package selector

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// randomSelector builds a selector over a small alphabet so that random label
// sets hit it often, using every operator.
func randomSelector(r *rand.Rand) Selector {
	switch r.IntN(20) {
	case 0:
		return Selector{}
	case 1:
		return Nothing()
	case 2:
		return Everything()
	}
	keys := []string{"app", "tier", "env", "n"}
	vals := []string{"a", "b", "c", ""}
	var parts []string
	for range 1 + r.IntN(3) {
		k := keys[r.IntN(len(keys))]
		v := vals[r.IntN(len(vals))]
		switch r.IntN(9) {
		case 0:
			parts = append(parts, k)
		case 1:
			parts = append(parts, "!"+k)
		case 2:
			parts = append(parts, k+"="+v)
		case 3:
			parts = append(parts, k+"=="+v)
		case 4:
			parts = append(parts, k+"!="+v)
		case 5:
			parts = append(parts, fmt.Sprintf("%s in (%s,%s)", k, v, vals[r.IntN(len(vals))]))
		case 6:
			parts = append(parts, fmt.Sprintf("%s notin (%s)", k, v))
		case 7:
			parts = append(parts, fmt.Sprintf("%s>%d", k, r.IntN(3)))
		case 8:
			parts = append(parts, fmt.Sprintf("%s<%d", k, r.IntN(3)))
		}
	}
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += ","
		}
		s += p
	}
	return MustParse(s)
}

func randomLabels(r *rand.Rand) Set {
	keys := []string{"app", "tier", "env", "n", "other"}
	vals := []string{"a", "b", "c", "", "0", "1", "2"}
	l := Set{}
	for _, k := range keys {
		if r.IntN(2) == 0 {
			l[k] = vals[r.IntN(len(vals))]
		}
	}
	return l
}

// linear is the reference: every selector checked one by one.
func linear(sels map[int]Selector, l Labels) []int {
	var out []int
	for k, s := range sels {
		if s.Matches(l) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func checkIndex(t *testing.T, x *Index[int], model map[int]Selector, l Set) {
	t.Helper()
	want := linear(model, l)
	for _, labels := range []Labels{l, mapLabels(l)} {
		got := x.AppendMatches(nil, labels)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("AppendMatches(%v) = %v; want %v (linear scan)", l, got, want)
		}
	}
	if x.Len() != len(model) {
		t.Fatalf("Len() = %d; want %d", x.Len(), len(model))
	}
}

func TestIndexRandomized(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		x := NewIndex[int]()
		model := map[int]Selector{}
		for range 400 {
			k := r.IntN(60)
			switch r.IntN(4) {
			case 0:
				x.Delete(k)
				delete(model, k)
			default:
				s := randomSelector(r)
				x.Set(k, s)
				model[k] = s
			}
			checkIndex(t, x, model, randomLabels(r))
		}
	}
}

// FuzzIndex drives an index with operations decoded from the fuzz input and
// compares every answer with a linear scan.
func FuzzIndex(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte("index against linear scan"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		var seed [2]uint64
		for i, b := range data {
			seed[i%2] = seed[i%2]*131 + uint64(b)
		}
		r := rand.New(rand.NewPCG(seed[0], seed[1]))
		x := NewIndex[int]()
		model := map[int]Selector{}
		for _, b := range data {
			k := int(b % 16)
			if b&0x80 != 0 {
				x.Delete(k)
				delete(model, k)
			} else {
				s := randomSelector(r)
				x.Set(k, s)
				model[k] = s
			}
			checkIndex(t, x, model, randomLabels(r))
		}
	})
}

func TestIndexReplaceAndDelete(t *testing.T) {
	x := NewIndex[string]()
	x.Set("web", MustParse("app=web"))
	x.Set("all", Everything())
	x.Set("none", Selector{})
	x.Set("nothing", Nothing())
	x.Set("contradiction", MustParse("app=web,!app"))
	l := Set{"app": "web"}
	sorted := func() []string { got := x.AppendMatches(nil, l); slices.Sort(got); return got }
	if got, want := sorted(), []string{"all", "web"}; !slices.Equal(got, want) {
		t.Fatalf("AppendMatches(%v) = %v; want %v", l, got, want)
	}
	if x.Len() != 5 {
		t.Errorf("Len() = %d; want 5", x.Len())
	}
	x.Set("web", MustParse("app=db"))
	if got, want := sorted(), []string{"all"}; !slices.Equal(got, want) {
		t.Fatalf("after replace: AppendMatches(%v) = %v; want %v", l, got, want)
	}
	x.Set("web", MustParse("app in (web,db)"))
	x.Delete("all")
	x.Delete("missing")
	if got, want := sorted(), []string{"web"}; !slices.Equal(got, want) {
		t.Fatalf("after delete: AppendMatches(%v) = %v; want %v", l, got, want)
	}
	if x.Len() != 4 {
		t.Errorf("Len() = %d; want 4", x.Len())
	}
}

func TestIndexZeroValue(t *testing.T) {
	var x Index[int]
	if got := x.AppendMatches(nil, Set{"a": "b"}); len(got) != 0 || x.Len() != 0 {
		t.Fatalf("zero Index: AppendMatches = %v, Len = %d; want empty", got, x.Len())
	}
	x.Set(1, MustParse("a=b"))
	if got := x.AppendMatches(nil, Set{"a": "b"}); !slices.Equal(got, []int{1}) {
		t.Fatalf("zero Index after Set: AppendMatches = %v; want [1]", got)
	}
}

// TestIndexConcurrent runs readers against writers; -race checks the
// snapshot hand-over, and every answer must be one a snapshot could give.
func TestIndexConcurrent(t *testing.T) {
	x := NewIndex[int]()
	sel := MustParse("app=web")
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := w*1000 + i%50
				if i%3 == 0 {
					x.Delete(k)
				} else {
					x.Set(k, sel)
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]int, 0, 200)
			for range 500 {
				got := x.AppendMatches(dst[:0], Set{"app": "web"})
				seen := map[int]bool{}
				for _, k := range got {
					if seen[k] {
						t.Errorf("AppendMatches returned %d twice", k)
						return
					}
					seen[k] = true
				}
			}
		}()
	}
	wg.Wait()
}

// TestIndexSetUnchanged: re-setting a key to an equal selector, as an owner
// does on every update of its object, copies nothing.
func TestIndexSetUnchanged(t *testing.T) {
	x := NewIndex[string]()
	x.Set("web", MustParse("app=web,tier in (a,b)"))
	same := MustParse("tier in (b,a),app=web")
	if n := testing.AllocsPerRun(100, func() { x.Set("web", same) }); n != 0 {
		t.Errorf("Set of an equal selector allocates %v times; want 0", n)
	}
	if got := x.AppendMatches(nil, Set{"app": "web", "tier": "a"}); len(got) != 1 {
		t.Errorf("matches after re-set = %v; want [web]", got)
	}
}
