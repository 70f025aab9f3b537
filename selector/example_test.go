package selector_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/svcnet/svcnet/selector"
)

func ExampleParse() {
	sel, err := selector.Parse("tier in (backend, frontend), app = web, !canary")
	if err != nil {
		panic(err)
	}
	fmt.Println(sel)
	fmt.Println(sel.Matches(selector.Set{"app": "web", "tier": "frontend"}))
	fmt.Println(sel.Matches(selector.Set{"app": "web", "tier": "frontend", "canary": "true"}))
	// Output:
	// app=web,!canary,tier in (backend,frontend)
	// true
	// false
}

func ExampleParse_error() {
	_, err := selector.Parse("app=web,tier in (frontend")
	var pe *selector.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Offset, errors.Is(err, selector.ErrSyntax))
	}
	fmt.Println(err)
	// Output:
	// 25 true
	// selector "app=web,tier in (frontend": offset 25: found end of string, expected ',' or ')'
}

func ExampleSelector_Matches() {
	sel := selector.MustParse("version!=v1,replicas>2")
	fmt.Println(sel.Matches(selector.Set{"replicas": "3"}))                  // version absent: != holds
	fmt.Println(sel.Matches(selector.Set{"replicas": "three"}))              // not an integer
	fmt.Println(sel.Matches(selector.Set{"replicas": "3", "version": "v1"})) // excluded
	// Output:
	// true
	// false
	// false
}

func ExampleFromMap() {
	svc := selector.FromMap(map[string]string{"app": "web"})
	none := selector.FromMap(nil) // a Service without a selector
	fmt.Println(svc, svc.Matches(selector.Set{"app": "web"}))
	fmt.Println(none.IsZero(), none.Matches(selector.Set{"app": "web"}))
	fmt.Println(selector.FromSet(nil).Matches(selector.Set{"app": "web"})) // empty set: everything
	// Output:
	// app=web true
	// true false
	// true
}

func ExampleSelector_MatchesNothing() {
	for _, s := range []string{"a,!a", "a=b,a!=b", "a in (x),a in (y)", "a in (x,y),a!=x"} {
		fmt.Printf("%s: %v\n", s, selector.MustParse(s).MatchesNothing())
	}
	// Output:
	// a,!a: true
	// a=b,a!=b: true
	// a in (x),a in (y): true
	// a in (x,y),a!=x: false
}

func ExampleFromLabelSelector() {
	sel, err := selector.FromLabelSelector(&selector.LabelSelector{
		MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []selector.LabelSelectorRequirement{
			{Key: "tier", Operator: selector.In, Values: []string{"frontend", "backend"}},
		},
	})
	fmt.Println(sel, err)
	nothing, _ := selector.FromLabelSelector(nil)
	fmt.Println(nothing.Matches(selector.Set{}))
	_, err = selector.FromLabelSelector(&selector.LabelSelector{
		MatchExpressions: []selector.LabelSelectorRequirement{{Key: "n", Operator: "Gt", Values: []string{"1"}}},
	})
	fmt.Println(err)
	// Output:
	// app=web,tier in (backend,frontend) <nil>
	// false
	// matchExpressions[0]: operator "Gt": invalid operator
}

func ExampleSelector_LabelSelector() {
	ls, _ := selector.MustParse("app=web,version!=v1").LabelSelector()
	fmt.Println(ls.MatchLabels, ls.MatchExpressions)
	// Output:
	// map[app:web] [{version NotIn [v1]}]
}

func ExampleIndex() {
	idx := selector.NewIndex[string]()
	idx.Set("web", selector.MustParse("app=web"))
	idx.Set("web-canary", selector.MustParse("app=web,track=canary"))
	idx.Set("not-db", selector.MustParse("app!=db"))
	idx.Set("db", selector.FromMap(map[string]string{"app": "db"}))

	hits := idx.AppendMatches(nil, selector.Set{"app": "web", "track": "canary"})
	slices.Sort(hits) // the order is unspecified
	fmt.Println(hits)

	idx.Delete("web-canary")
	hits = idx.AppendMatches(hits[:0], selector.Set{"app": "web", "track": "canary"})
	slices.Sort(hits)
	fmt.Println(hits, idx.Len())
	// Output:
	// [not-db web web-canary]
	// [not-db web] 3
}

func ExampleSelector_RequiresExactMatch() {
	v, ok := selector.MustParse("app=web,tier in (a,b)").RequiresExactMatch("app")
	fmt.Println(v, ok)
	_, ok = selector.MustParse("app=web,tier in (a,b)").RequiresExactMatch("tier")
	fmt.Println(ok)
	// Output:
	// web true
	// false
}
