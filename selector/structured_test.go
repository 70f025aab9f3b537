package selector

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestFromLabelSelector(t *testing.T) {
	tests := []struct {
		name    string
		in      *LabelSelector
		want    string // String() of the result
		wantErr error
		nothing bool
	}{
		{name: "nil is nothing", in: nil, want: "", nothing: true},
		{name: "empty is everything", in: &LabelSelector{}, want: ""},
		{name: "empty maps are everything", in: &LabelSelector{MatchLabels: map[string]string{}, MatchExpressions: []LabelSelectorRequirement{}}, want: ""},
		{name: "match labels", in: &LabelSelector{MatchLabels: map[string]string{"tier": "web", "app": "shop"}}, want: "app=shop,tier=web"},
		{name: "expressions", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{
			{Key: "b", Operator: In, Values: []string{"y", "x"}},
			{Key: "a", Operator: NotIn, Values: []string{"z"}},
			{Key: "c", Operator: Exists},
			{Key: "d", Operator: DoesNotExist},
		}}, want: "a notin (z),b in (x,y),c,!d"},
		{name: "labels before expressions on one key", in: &LabelSelector{
			MatchLabels:      map[string]string{"a": "1"},
			MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: NotIn, Values: []string{"2"}}},
		}, want: "a=1,a notin (2)"},
		{name: "duplicates kept as in Kubernetes", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: In, Values: []string{"x", "x"}}}}, want: "a in (x,x)"},
		{name: "gt rejected", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: "Gt", Values: []string{"1"}}}}, wantErr: ErrInvalidOperator},
		{name: "lt rejected", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: "Lt", Values: []string{"1"}}}}, wantErr: ErrInvalidOperator},
		{name: "lowercase operator rejected", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: "in", Values: []string{"1"}}}}, wantErr: ErrInvalidOperator},
		{name: "in without values", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: In}}}, wantErr: ErrValueCount},
		{name: "exists with values", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: Exists, Values: []string{"x"}}}}, wantErr: ErrValueCount},
		{name: "bad key in labels", in: &LabelSelector{MatchLabels: map[string]string{"a b": "x"}}, wantErr: ErrInvalidKey},
		{name: "bad value in labels", in: &LabelSelector{MatchLabels: map[string]string{"a": "x y"}}, wantErr: ErrInvalidValue},
		{name: "bad key in expression", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "", Operator: Exists}}}, wantErr: ErrInvalidKey},
		{name: "bad value in expression", in: &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: In, Values: []string{"-x"}}}}, wantErr: ErrInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := FromLabelSelector(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("FromLabelSelector(%+v) error = %v; want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromLabelSelector(%+v) error = %v", tt.in, err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("FromLabelSelector(%+v).String() = %q; want %q", tt.in, got, tt.want)
			}
			if got := sel.MatchesNothing(); got != tt.nothing {
				t.Errorf("FromLabelSelector(%+v).MatchesNothing() = %v; want %v", tt.in, got, tt.nothing)
			}
			if sel.IsZero() {
				t.Errorf("FromLabelSelector(%+v).IsZero() = true; want false", tt.in)
			}
		})
	}
}

func TestToLabelSelector(t *testing.T) {
	tests := []struct {
		name    string
		in      Selector
		want    *LabelSelector
		wantErr error
	}{
		{"zero", Selector{}, nil, nil},
		{"nothing", Nothing(), nil, nil},
		{"everything", Everything(), &LabelSelector{}, nil},
		{"equality", MustParse("a=1,b==2"), &LabelSelector{MatchLabels: map[string]string{"a": "1", "b": "2"}}, nil},
		{"all operators", MustParse("a=1,a=2,b!=x,c in (y,z),d notin (w),e,!f"), &LabelSelector{
			MatchLabels: map[string]string{"a": "1"},
			MatchExpressions: []LabelSelectorRequirement{
				{Key: "a", Operator: In, Values: []string{"2"}},
				{Key: "b", Operator: NotIn, Values: []string{"x"}},
				{Key: "c", Operator: In, Values: []string{"y", "z"}},
				{Key: "d", Operator: NotIn, Values: []string{"w"}},
				{Key: "e", Operator: Exists},
				{Key: "f", Operator: DoesNotExist},
			},
		}, nil},
		{"gt", MustParse("a=1,n>3"), nil, ErrNotExpressible},
		{"lt", MustParse("n<3"), nil, ErrNotExpressible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.LabelSelector()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%v.LabelSelector() error = %v; want %v", tt.in, err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%v.LabelSelector() = %+v; want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// TestLabelSelectorRoundTrip checks that converting to the structured form and
// back keeps the set of matching label sets.
func TestLabelSelectorRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		sel := randomSelector(r)
		ls, err := sel.LabelSelector()
		if errors.Is(err, ErrNotExpressible) {
			continue
		}
		if err != nil {
			t.Fatalf("%v.LabelSelector() error = %v", sel, err)
		}
		back, err := FromLabelSelector(ls)
		if err != nil {
			t.Fatalf("FromLabelSelector(%+v) error = %v (from %v)", ls, err, sel)
		}
		for range 20 {
			l := randomLabels(r)
			if got, want := back.Matches(l), sel.Matches(l); got != want {
				t.Fatalf("round trip of %q via %+v: Matches(%v) = %v; want %v", sel, ls, l, got, want)
			}
		}
	}
}
