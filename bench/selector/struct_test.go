package selector

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/svcnet/svcnet/selector"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestStructuredDiff(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	keys := []string{"a", "b", "x", "Bad Key", ""}
	vals := []string{"", "x", "y", "-z"}
	ops := []string{"In", "NotIn", "Exists", "DoesNotExist", "Gt", "in"}
	for range 200000 {
		var ours *selector.LabelSelector
		var theirs *metav1.LabelSelector
		if r.IntN(10) > 0 {
			ours, theirs = &selector.LabelSelector{}, &metav1.LabelSelector{}
			if r.IntN(2) == 0 {
				ours.MatchLabels, theirs.MatchLabels = map[string]string{}, map[string]string{}
				for range r.IntN(3) {
					k, v := keys[r.IntN(len(keys))], vals[r.IntN(len(vals))]
					ours.MatchLabels[k], theirs.MatchLabels[k] = v, v
				}
			}
			for range r.IntN(3) {
				k, op := keys[r.IntN(len(keys))], ops[r.IntN(len(ops))]
				var vs []string
				for range r.IntN(3) {
					vs = append(vs, vals[r.IntN(len(vals))])
				}
				ours.MatchExpressions = append(ours.MatchExpressions, selector.LabelSelectorRequirement{Key: k, Operator: selector.LabelSelectorOperator(op), Values: vs})
				theirs.MatchExpressions = append(theirs.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOperator(op), Values: vs})
			}
		}
		s1, err1 := selector.FromLabelSelector(ours)
		s2, err2 := metav1.LabelSelectorAsSelector(theirs)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%+v: svcnet err %v, k8s err %v", theirs, err1, err2)
		}
		if err1 != nil {
			continue
		}
		if s1.String() != s2.String() {
			t.Fatalf("%+v: svcnet %q, k8s %q", theirs, s1.String(), s2.String())
		}
		for range 10 {
			m := map[string]string{}
			for _, k := range keys[:3] {
				if r.IntN(2) == 0 {
					m[k] = vals[r.IntN(len(vals))]
				}
			}
			if s1.Matches(selector.Set(m)) != s2.Matches(labels.Set(m)) {
				t.Fatalf("%+v.Matches(%v) differs", theirs, m)
			}
		}
	}
	// Set.String and FromSet.
	m := map[string]string{"b": "2", "a": "1", "c": ""}
	if selector.Set(m).String() != labels.Set(m).String() || selector.FromSet(m).String() != labels.SelectorFromSet(m).String() {
		t.Fatalf("Set strings differ")
	}
	// Back to the structured form, where Kubernetes can: ParseToLabelSelector.
	for _, in := range []string{"a=1,b in (x,y),!c,d,e notin (z)", "a==1"} {
		want, err := metav1.ParseToLabelSelector(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := selector.MustParse(in).LabelSelector()
		if err != nil {
			t.Fatal(err)
		}
		if len(want.MatchExpressions) == 0 {
			want.MatchExpressions = nil
		}
		if !reflect.DeepEqual(got.MatchLabels, want.MatchLabels) || len(got.MatchExpressions) != len(want.MatchExpressions) {
			t.Errorf("%q: svcnet %+v, k8s %+v", in, got, want)
		}
		for i := range got.MatchExpressions {
			g, w := got.MatchExpressions[i], want.MatchExpressions[i]
			if g.Key != w.Key || string(g.Operator) != string(w.Operator) || len(g.Values) != len(w.Values) || (len(g.Values) > 0 && !reflect.DeepEqual(g.Values, w.Values)) {
				t.Errorf("%q: expression %d: svcnet %+v, k8s %+v", in, i, g, w)
			}
		}
	}
}
