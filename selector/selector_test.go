package selector

import (
	"errors"
	"strings"
	"testing"
)

// mapLabels is a Labels that is not a Set, to exercise the generic path.
type mapLabels map[string]string

func (m mapLabels) Has(k string) bool   { _, ok := m[k]; return ok }
func (m mapLabels) Get(k string) string { return m[k] }

func TestMatches(t *testing.T) {
	tests := []struct {
		name   string
		sel    string
		labels Set
		want   bool
	}{
		{"everything matches empty", "", Set{}, true},
		{"everything matches nil", "", nil, true},
		{"everything matches any", "", Set{"a": "b"}, true},
		{"exists present", "a", Set{"a": ""}, true},
		{"exists absent", "a", Set{"b": "x"}, false},
		{"not exists absent", "!a", Set{"b": "x"}, true},
		{"not exists present empty", "!a", Set{"a": ""}, false},
		{"equals", "a=b", Set{"a": "b"}, true},
		{"equals other value", "a=b", Set{"a": "c"}, false},
		{"equals absent", "a=b", Set{}, false},
		{"equals empty present", "a=", Set{"a": ""}, true},
		{"equals empty absent", "a=", Set{}, false},
		{"double equals", "a==b", Set{"a": "b"}, true},
		{"not equals other", "a!=b", Set{"a": "c"}, true},
		{"not equals same", "a!=b", Set{"a": "b"}, false},
		{"not equals absent", "a!=b", Set{}, true},
		{"not equals empty absent", "a!=", Set{}, true},
		{"not equals empty present", "a!=", Set{"a": ""}, false},
		{"in member", "a in (x,y)", Set{"a": "y"}, true},
		{"in non-member", "a in (x,y)", Set{"a": "z"}, false},
		{"in absent", "a in (x,y)", Set{}, false},
		{"in empty set present empty", "a in ()", Set{"a": ""}, true},
		{"in empty set absent", "a in ()", Set{}, false},
		{"in many values", "a in (v0,v1,v2,v3,v4,v5,v6,v7,v8,v9,v10)", Set{"a": "v7"}, true},
		{"in many values miss", "a in (v0,v1,v2,v3,v4,v5,v6,v7,v8,v9,v10)", Set{"a": "v11"}, false},
		{"notin member", "a notin (x,y)", Set{"a": "x"}, false},
		{"notin non-member", "a notin (x,y)", Set{"a": "z"}, true},
		{"notin absent", "a notin (x,y)", Set{}, true},
		{"gt true", "a>5", Set{"a": "6"}, true},
		{"gt equal", "a>5", Set{"a": "5"}, false},
		{"gt absent", "a>5", Set{}, false},
		{"gt non-integer", "a>5", Set{"a": "six"}, false},
		{"gt empty", "a>5", Set{"a": ""}, false},
		{"gt leading zeros", "a>5", Set{"a": "0010"}, true},
		{"gt signed label", "a>5", Set{"a": "+6"}, true},
		{"gt negative label", "a>5", Set{"a": "-6"}, false},
		{"gt overflowing label", "a>5", Set{"a": "99999999999999999999"}, false},
		{"lt true", "a<5", Set{"a": "-100"}, true},
		{"lt false", "a<5", Set{"a": "5"}, false},
		{"lt non-integer", "a<5", Set{"a": "1.5"}, false},
		{"conjunction all", "a=1,b in (x),!c,d!=2", Set{"a": "1", "b": "x", "d": "3"}, true},
		{"conjunction one fails", "a=1,b in (x),!c,d!=2", Set{"a": "1", "b": "x", "c": "", "d": "3"}, false},
		{"contradiction", "a,!a", Set{"a": "1"}, false},
		{"prefixed key", "example.com/a=b", Set{"example.com/a": "b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel := MustParse(tt.sel)
			if got := sel.Matches(tt.labels); got != tt.want {
				t.Errorf("Parse(%q).Matches(%v) = %v; want %v", tt.sel, tt.labels, got, tt.want)
			}
			if got := sel.Matches(mapLabels(tt.labels)); got != tt.want {
				t.Errorf("Parse(%q).Matches(mapLabels %v) = %v; want %v", tt.sel, tt.labels, got, tt.want)
			}
		})
	}
}

func TestZeroEverythingNothing(t *testing.T) {
	var zero Selector
	tests := []struct {
		name       string
		sel        Selector
		wantZero   bool
		wantMatch  bool
		wantString string
	}{
		{"zero", zero, true, false, ""},
		{"FromMap nil", FromMap(nil), true, false, ""},
		{"FromMap empty", FromMap(map[string]string{}), true, false, ""},
		{"Nothing", Nothing(), false, false, ""},
		{"Everything", Everything(), false, true, ""},
		{"FromSet nil", FromSet(nil), false, true, ""},
		{"FromSet empty", FromSet(Set{}), false, true, ""},
		{"Parse empty", MustParse(""), false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.IsZero(); got != tt.wantZero {
				t.Errorf("%s.IsZero() = %v; want %v", tt.name, got, tt.wantZero)
			}
			for _, l := range []Set{nil, {}, {"a": "b"}} {
				if got := tt.sel.Matches(l); got != tt.wantMatch {
					t.Errorf("%s.Matches(%v) = %v; want %v", tt.name, l, got, tt.wantMatch)
				}
			}
			if got := tt.sel.String(); got != tt.wantString {
				t.Errorf("%s.String() = %q; want %q", tt.name, got, tt.wantString)
			}
			if got := tt.sel.MatchesNothing(); got == tt.wantMatch {
				t.Errorf("%s.MatchesNothing() = %v; want %v", tt.name, got, !tt.wantMatch)
			}
		})
	}
	if zero.Equal(Nothing()) || zero.Equal(Everything()) || Nothing().Equal(Everything()) {
		t.Errorf("zero, Nothing and Everything must be distinct")
	}
}

func TestFromMapAndSet(t *testing.T) {
	m := map[string]string{"tier": "web", "app": "shop", "x": ""}
	for name, sel := range map[string]Selector{"FromMap": FromMap(m), "FromSet": FromSet(m)} {
		if got, want := sel.String(), "app=shop,tier=web,x="; got != want {
			t.Errorf("%s(%v).String() = %q; want %q", name, m, got, want)
		}
		if !sel.Matches(Set{"app": "shop", "tier": "web", "x": "", "y": "z"}) {
			t.Errorf("%s(%v) does not match a superset", name, m)
		}
		if sel.Matches(Set{"app": "shop", "tier": "web"}) {
			t.Errorf("%s(%v) matches a set missing x", name, m)
		}
		if !sel.Equal(MustParse("x=,tier=web,app=shop")) {
			t.Errorf("%s(%v) = %v; want the parsed equivalent", name, m, sel)
		}
	}
	// Like Kubernetes' SelectorFromSet, no validation.
	if got := FromSet(Set{"bad key": "bad value!"}).String(); got != "bad key=bad value!" {
		t.Errorf("FromSet(invalid).String() = %q", got)
	}
}

func TestSetString(t *testing.T) {
	tests := []struct {
		in   Set
		want string
	}{
		{nil, ""},
		{Set{"b": "2", "a": "1"}, "a=1,b=2"},
		{Set{"a": ""}, "a="},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Set(%v).String() = %q; want %q", map[string]string(tt.in), got, tt.want)
		}
		if got := FromSet(tt.in).String(); got != tt.want {
			t.Errorf("FromSet(%v).String() = %q; want %q", map[string]string(tt.in), got, tt.want)
		}
	}
}

func TestAppendTo(t *testing.T) {
	sel := MustParse("b notin (y,x),a")
	got := string(sel.AppendTo([]byte("sel: ")))
	if want := "sel: a,b notin (x,y)"; got != want {
		t.Errorf("AppendTo = %q; want %q", got, want)
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel       string
		key       string
		wantValue string
		wantOK    bool
	}{
		{"a=b", "a", "b", true},
		{"a==b", "a", "b", true},
		{"a in (b)", "a", "b", true},
		{"a in (b,c)", "a", "", false},
		{"a!=b", "a", "", false},
		{"a", "a", "", false},
		{"a=b", "c", "", false},
		{"x,a=b", "a", "b", true},
		// Only the first requirement on the key counts, as in Kubernetes.
		{"a!=c,a=b", "a", "", false},
		{"a=b,a!=c", "a", "b", true},
		{"", "a", "", false},
	}
	for _, tt := range tests {
		v, ok := MustParse(tt.sel).RequiresExactMatch(tt.key)
		if v != tt.wantValue || ok != tt.wantOK {
			t.Errorf("Parse(%q).RequiresExactMatch(%q) = %q, %v; want %q, %v", tt.sel, tt.key, v, ok, tt.wantValue, tt.wantOK)
		}
	}
	if v, ok := Nothing().RequiresExactMatch("a"); ok || v != "" {
		t.Errorf("Nothing().RequiresExactMatch = %q, %v", v, ok)
	}
}

func TestMatchesNothing(t *testing.T) {
	tests := []struct {
		sel  string
		want bool
	}{
		{"", false},
		{"a", false},
		{"a,!a", true},
		{"!a,a=b", true},
		{"!a,a!=b", false},
		{"!a,a notin (x)", false},
		{"a=b,a!=b", true},
		{"a=b,a!=c", false},
		{"a in (x),a in (y)", true},
		{"a in (x,y),a in (y,z)", false},
		{"a in (x,y),a in (y,z),a notin (y)", true},
		{"a=b,a==b", false},
		{"a=b,a=c", true},
		{"a>5,a<6", true},
		{"a>5,a<7", false},
		{"a>5,a<7,a!=6", false}, // "06" is another spelling of 6
		{"a>9223372036854775807", true},
		{"a=7,a>5", false},
		{"a=x,a>5", true},
		{"a in (3,9),a>5,a<8", true},
		{"a,b=1,c!=2,d in (x,y)", false},
		{"b=1,a,!a", true},
	}
	for _, tt := range tests {
		if got := MustParse(tt.sel).MatchesNothing(); got != tt.want {
			t.Errorf("Parse(%q).MatchesNothing() = %v; want %v", tt.sel, got, tt.want)
		}
	}
}

// ValidateLabels applies Kubernetes' label rules (apimachinery v0.37.2
// content.IsLabelKey and validation.IsValidLabelValue) to a plain map such
// as a Service's selector.
func TestValidateLabels(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]string
		wantErr error
	}{
		{"nil", nil, nil},
		{"qualified keys, empty value", map[string]string{"app": "web", "example.com/tier": "", "A.b": "x_1"}, nil},
		{"key with space and bang", map[string]string{"bad key!": "x"}, ErrInvalidKey},
		{"uppercase prefix", map[string]string{"Example.com/a": "x"}, ErrInvalidKey},
		{"empty key", map[string]string{"": "x"}, ErrInvalidKey},
		{"value with slash", map[string]string{"app": "a/b"}, ErrInvalidValue},
		{"value 64 long", map[string]string{"app": strings.Repeat("v", 64)}, ErrInvalidValue},
	}
	for _, tt := range tests {
		err := ValidateLabels(tt.in)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
			t.Errorf("%s: ValidateLabels(%q) = %v; want %v", tt.name, tt.in, err, tt.wantErr)
		}
	}
	if err := ValidateLabels(map[string]string{"bad key!": "x"}); err == nil || !strings.Contains(err.Error(), `"bad key!"`) {
		t.Errorf("ValidateLabels error %v does not quote the key", err)
	}
}
