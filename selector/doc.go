// Package selector implements Kubernetes label selectors: parsing the string
// syntax, validating keys and values, matching label sets, and an [Index]
// that answers "which of many selectors match these labels" without scanning
// them all.
//
// The semantics are Kubernetes' own (k8s.io/apimachinery/pkg/labels), corners
// included. The release followed is Kubernetes 1.37, k8s.io/apimachinery
// v0.37.2 (bench/selector fuzzes against it); where releases differ, that is
// the one this package agrees with:
//
//   - Grammar: requirements separated by ',' (AND; there is no OR), each one of
//     "key", "!key", "key=v", "key==v", "key!=v", "key in (v1,v2)",
//     "key notin (v1,v2)", "key>N", "key<N". 'in' and 'notin' are keywords only
//     where an operator is expected. In a value list "()" is {""}, a leading or
//     trailing comma adds "", so does every ",," ("(a,,)" is {a, ""}; releases
//     before 1.37 rejected it), and values are deduplicated. Whitespace is space,
//     tab, CR and LF. Parse("") is [Everything].
//   - Validation ([ValidateLabels] for a plain map): a key is a qualified
//     name (optional lowercase DNS subdomain prefix of at most 253
//     characters and '/', then a 1-63 character name); a value is empty or
//     a 1-63 character name; '>' and '<' take one int64.
//   - Matching: '!=' and 'notin' hold when the key is absent; '>' and '<' fail
//     when it is absent or not an integer.
//   - Three selectors have no requirements and differ: the zero [Selector]
//     ("no selector", what a Service with an empty selector has; matches
//     nothing), [Nothing] (a nil structured selector; matches nothing) and
//     [Everything] (matches everything).
//
// Invariants: a Selector is immutable and safe to share; [Selector.String] is
// canonical (requirements sorted by key, values sorted) and parses back to an
// equal Selector; [Selector.Matches] and [Index.AppendMatches] (given room in
// dst) do not allocate; an Index answers exactly what a linear scan of its
// selectors would.
//
// Beyond Kubernetes, [Selector.MatchesNothing] detects selectors whose
// requirements contradict each other ("a,!a", "a=b,a!=b",
// "a in (x),a in (y)").
//
// Usage:
//
//	sel, err := selector.Parse("app=web,tier in (frontend,backend),!canary")
//	if err != nil {
//		return err // a *selector.ParseError quoting the input
//	}
//	sel.Matches(selector.Set{"app": "web", "tier": "frontend"}) // true
//
//	idx := selector.NewIndex[string]()
//	idx.Set("default/web", sel)
//	idx.Set("default/db", selector.FromMap(map[string]string{"app": "db"}))
//	hits := idx.AppendMatches(nil, selector.Set{"app": "db"}) // ["default/db"]
package selector
