package selector

import (
	"errors"
	"strings"
	"testing"
)

// Kubernetes 1.37 (k8s.io/apimachinery v0.37.2, labels.Parser
// parseIdentifiersList) keeps every empty value of a set: ",," adds "" and
// leaves its second comma to be read again. Kubernetes 1.33 (v0.33.0)
// consumed that comma and so rejected "(a,,)" and "(,,)"; svcnet follows
// 1.37.
func TestParseEmptySetValuesKubernetes137(t *testing.T) {
	tests := []struct {
		in, want     string
		matchesEmpty bool // the empty value is in the set
	}{
		{"a in (a,,)", "a in (,a)", true},
		{"a in (,,)", "a in ()", true},
		{"x in(V ,, )", "x in (,V)", true},
		{"a in (a, ,)", "a in (,a)", true},
		{"a in (a,,b,,)", "a in (,a,b)", true},
		{"a notin (b,,)", "a notin (,b)", true},
		{"a in (a,b)", "a in (a,b)", false},
	}
	for _, tt := range tests {
		sel, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error = %v; want %q (apimachinery v0.37.2)", tt.in, err, tt.want)
			continue
		}
		if got := sel.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q; want %q", tt.in, got, tt.want)
		}
		in := strings.HasPrefix(tt.want, "a in") || strings.HasPrefix(tt.want, "x in")
		key := tt.want[:1]
		if got := sel.Matches(Set{key: ""}); got != (tt.matchesEmpty == in) {
			t.Errorf("Parse(%q).Matches({%s: \"\"}) = %v; want %v", tt.in, key, got, tt.matchesEmpty == in)
		}
	}
}

func TestParse(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name    string
		in      string
		want    string // canonical String() of the result
		wantErr error
	}{
		// Grammar.
		{"empty is everything", "", "", nil},
		{"whitespace only", " \t\r\n", "", nil},
		{"exists", "a", "a", nil},
		{"does not exist", "!a", "!a", nil},
		{"does not exist with space", "! a", "!a", nil},
		{"equals", "a=b", "a=b", nil},
		{"double equals kept", "a==b", "a==b", nil},
		{"not equals", "a!=b", "a!=b", nil},
		{"in", "a in (x,y)", "a in (x,y)", nil},
		{"notin", "a notin (x)", "a notin (x)", nil},
		{"greater", "a>1", "a>1", nil},
		{"less", "a<10", "a<10", nil},
		{"leading zeros kept", "a>007", "a>007", nil},
		{"whitespace everywhere", " a = b ,\tc\n,\r!d , e in( x ) ", "a=b,c,!d,e in (x)", nil},
		{"in needs no spaces before paren", "a in(x)", "a in (x)", nil},
		{"sorted by key", "x=a,a=x", "a=x,x=a", nil},
		{"same key keeps order", "b,a!=1,a=2", "a!=1,a=2,b", nil},
		{"same key keeps order reversed", "a=2,a!=1", "a=2,a!=1", nil},
		// Over 12 requirements Kubernetes' sort.Sort is not stable; this is
		// the order it gives (found by differential fuzzing against it).
		{"same key beyond insertion sort", "0,0,0,00,0,0,0,0,0,0>0,0,0,0", "0>0,0,0,0,0,0,0,0,0,0,0,0,00", nil},
		{"values sorted and deduplicated", "a in (z,y,z,x)", "a in (x,y,z)", nil},
		{"keyword as key", "notin=in", "notin=in", nil},
		{"keyword as key of in", "in in (in)", "in in (in)", nil},
		{"keywords as values", "a in (x,notin,in)", "a in (in,notin,x)", nil},
		{"keyword as bare key", "in", "in", nil},
		{"keyword as negated key", "!notin", "!notin", nil},
		{"empty value", "a=", "a=", nil},
		{"empty value before comma", "a=,b", "a=,b", nil},
		{"empty not-equals", "a!=", "a!=", nil},
		{"empty parens", "a in ()", "a in ()", nil},
		{"lone comma", "a in (,)", "a in ()", nil},
		{"leading comma", "a in (,x)", "a in (,x)", nil},
		{"trailing comma", "a in (x,)", "a in (,x)", nil},
		{"double comma inside", "a in (x,,y)", "a in (,x,y)", nil},
		{"three commas", "a in (,,,)", "a in ()", nil},
		{"leading double comma", "a in (,,x)", "a in (,x)", nil},
		{"NUL where a token starts ends the input", "a \x00garbage", "a", nil},
		{"NUL ending a token is skipped", "a\x00 garbage", "", ErrSyntax},
		{"leading NUL", "\x00a", "", nil},
		{"NUL after value", "a=b\x00", "a=b", nil},

		// Syntax errors.
		{"trailing comma", "a,", "", ErrSyntax},
		{"leading comma", ",a", "", ErrSyntax},
		{"double comma", "a,,b", "", ErrSyntax},
		{"missing comma", "a b", "", ErrSyntax},
		{"greater or equal", "a>=1", "", ErrSyntax},
		{"triple equals", "a===b", "", ErrSyntax},
		{"not equals equals", "a!==b", "", ErrSyntax},
		{"operator as value", "a=!b", "", ErrSyntax},
		{"two values", "a=b=c", "", ErrSyntax},
		{"negated with operator", "!a=b", "", ErrSyntax},
		{"negated with in", "!a in (x)", "", ErrSyntax},
		{"double negation", "!!a", "", ErrSyntax},
		{"bare bang", "!", "", ErrSyntax},
		{"in without parens", "a in x", "", ErrSyntax},
		{"unclosed list", "a in (x", "", ErrSyntax},
		{"unclosed after comma", "a in (x,", "", ErrSyntax},
		{"space separated list", "a in (x y)", "", ErrSyntax},
		{"operator in list", "a in (x,=)", "", ErrSyntax},
		{"nested paren", "a in ((x))", "", ErrSyntax},
		{"in alone", "a in", "", ErrSyntax},
		{"keyword operator after key only", "a notin", "", ErrSyntax},
		{"paren after key", "a (x)", "", ErrSyntax},
		{"NUL splits a token", "a=b\x00c", "", ErrSyntax},
		{"close paren", ")", "", ErrSyntax},

		// Key validation.
		{"prefixed key", "example.com/a-b_c.d=x", "example.com/a-b_c.d=x", nil},
		{"uppercase name", "App=x", "App=x", nil},
		{"uppercase prefix", "Example.com/a", "", ErrInvalidKey},
		{"empty prefix", "/a", "", ErrInvalidKey},
		{"empty name", "a/", "", ErrInvalidKey},
		{"two slashes", "a/b/c", "", ErrInvalidKey},
		{"name starts with dash", "-a", "", ErrInvalidKey},
		{"name ends with dot", "a.", "", ErrInvalidKey},
		{"name bad char", "a*b", "", ErrInvalidKey},
		{"name 63", long(63), long(63), nil},
		{"name 64", long(64), "", ErrInvalidKey},
		{"prefix 253", long(253) + "/a", long(253) + "/a", nil},
		{"prefix 254", long(254) + "/a", "", ErrInvalidKey},
		{"prefix empty label", "a..b/c", "", ErrInvalidKey},
		{"prefix label ends with dash", "a-.b/c", "", ErrInvalidKey},
		{"prefix underscore", "a_b/c", "", ErrInvalidKey},
		{"non-ASCII key", "é", "", ErrInvalidKey},

		// Value validation.
		{"value 63", "a=" + long(63), "a=" + long(63), nil},
		{"value 64", "a=" + long(64), "", ErrInvalidValue},
		{"value starts with dash", "a=-x", "", ErrInvalidValue},
		{"value with slash", "a=x/y", "", ErrInvalidValue},
		{"bad value in list", "a in (x,_y)", "", ErrInvalidValue},
		{"greater without value", "a>", "", ErrInvalidValue},
		{"greater than word", "a>x", "", ErrInvalidValue},
		{"greater than negative", "a>-1", "", ErrInvalidValue},
		{"greater than plus", "a>+1", "", ErrInvalidValue},
		{"greater overflows int64", "a>9223372036854775808", "", ErrInvalidValue},
		{"greater max int64", "a>9223372036854775807", "a>9223372036854775807", nil},
		{"less than empty before comma", "a<,b", "", ErrInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Parse(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v; want %v", tt.in, err, tt.wantErr)
				}
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Input != tt.in || pe.Offset < 0 || pe.Offset > len(tt.in) {
					t.Fatalf("Parse(%q) error = %#v; want a *ParseError with the input and an offset in it", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("Parse(%q).String() = %q; want %q", tt.in, got, tt.want)
			}
			if sel.IsZero() {
				t.Errorf("Parse(%q).IsZero() = true", tt.in)
			}
			again, err := Parse(sel.String())
			if err != nil || !again.Equal(sel) {
				t.Errorf("Parse(%q) = %v, %v; want %v (round trip)", sel.String(), again, err, sel)
			}
		})
	}
}

func TestParseErrorDetails(t *testing.T) {
	tests := []struct {
		in         string
		wantOffset int
		wantInMsg  string
	}{
		{"a=b c", 4, `"c"`},
		{"a,", 2, "end of string"},
		{"app in (web", 11, "end of string"},
		{"x=1,Bad.Prefix/k=v", 4, `"Bad.Prefix/k"`},
		{"k=ok,v=not_ok_", 7, `"not_ok_"`},
		{"k>abc", 2, `"abc"`},
		{"a>=1", 2, `"="`},
		// A bad value is found where it stands, not at the first place its
		// text occurs.
		{"a in (x-y,-y)", 10, `"-y"`},
		{"a notin (b,c-,c)", 11, `"c-"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q) error = %v; want *ParseError", tt.in, err)
		}
		if pe.Offset != tt.wantOffset {
			t.Errorf("Parse(%q) offset = %d; want %d (%v)", tt.in, pe.Offset, tt.wantOffset, err)
		}
		if !strings.Contains(pe.Msg, tt.wantInMsg) {
			t.Errorf("Parse(%q) message %q; want it to contain %s", tt.in, pe.Msg, tt.wantInMsg)
		}
		if msg := err.Error(); !strings.Contains(msg, `"`+tt.in+`"`) {
			t.Errorf("Parse(%q) error %q does not quote the input", tt.in, msg)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("MustParse(%q) did not panic", "a,")
		}
	}()
	MustParse("a,")
}

func TestParseInt64(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{"0", 0, true},
		{"007", 7, true},
		{"+5", 5, true},
		{"-5", -5, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"", 0, false},
		{"+", 0, false},
		{"-", 0, false},
		{"1_000", 0, false},
		{"0x10", 0, false},
		{"1 ", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt64(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseInt64(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
