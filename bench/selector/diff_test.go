package selector

import (
	"math/rand/v2"
	"testing"

	"github.com/svcnet/svcnet/selector"
	"k8s.io/apimachinery/pkg/labels"
)

// FuzzDiff holds svcnet's selector to Kubernetes 1.37's, k8s.io/apimachinery
// v0.37.2 (the version bench/go.mod pins): the same inputs parse, the
// canonical String is the same, and Matches and RequiresExactMatch agree on
// random label sets. v0.37.2 keeps the empty value of ",," in a set
// ("a in (a,,)"), which v0.33.0 rejected.
func FuzzDiff(f *testing.F) {
	for _, s := range []string{"", "a", "!a", "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a>1", "a<1",
		expr, "notin=in", "in in (in)", "a in ()", "a in (,)", "a in (x,,y)", "a in (x,,)", "a in (,,,)", "a in (a,,)", "a in (,,)", "x in(V ,, )", "a in (a, ,)",
		"a>=1", "a,", "example.com/a=b", " a = b ,\tc ", "a\x00", "a=b\x00c", "a=b,a!=b", "a,!a", "x/y/z", "A.b/c",
		"a in (x,notin,in)", "!a=b", "a=", "a>", "a>-1", "a>+1", "a>9223372036854775808", "a in x", "a (x)"} {
		f.Add(s, uint64(1))
	}
	keys := []string{"a", "b", "x", "in", "notin", "app", "tier", "example.com/a"}
	vals := []string{"", "x", "y", "b", "1", "0", "-3", "+2", "007", "in", "web", "99999999999999999999"}
	f.Fuzz(func(t *testing.T, in string, seed uint64) {
		ours, err1 := selector.Parse(in)
		theirs, err2 := labels.Parse(in)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Parse(%q): svcnet err %v, k8s err %v", in, err1, err2)
		}
		if err1 != nil {
			return
		}
		if ours.String() != theirs.String() {
			t.Fatalf("Parse(%q).String(): svcnet %q, k8s %q", in, ours.String(), theirs.String())
		}
		r := rand.New(rand.NewPCG(seed, 7))
		for range 50 {
			m := map[string]string{}
			for _, k := range keys {
				if r.IntN(2) == 0 {
					m[k] = vals[r.IntN(len(vals))]
				}
			}
			if ours.Matches(selector.Set(m)) != theirs.Matches(labels.Set(m)) {
				t.Fatalf("Parse(%q).Matches(%v): svcnet %v, k8s %v", in, m, ours.Matches(selector.Set(m)), theirs.Matches(labels.Set(m)))
			}
		}
		for _, k := range keys {
			v1, ok1 := ours.RequiresExactMatch(k)
			v2, ok2 := theirs.RequiresExactMatch(k)
			if v1 != v2 || ok1 != ok2 {
				t.Fatalf("Parse(%q).RequiresExactMatch(%q): svcnet %q %v, k8s %q %v", in, k, v1, ok1, v2, ok2)
			}
		}
	})
}
