package selector

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// labelsFor draws label sets over the keys and values s mentions, plus
// integers and a stranger, so that every requirement is both met and missed.
func labelsFor(r *rand.Rand, s Selector) Set {
	l := Set{}
	for _, req := range s.reqs {
		switch r.IntN(5) {
		case 0: // absent
		case 1:
			l[req.key] = ""
		case 2:
			l[req.key] = []string{"0", "7", "-3", "9223372036854775807", "x"}[r.IntN(5)]
		default:
			if len(req.values) > 0 {
				l[req.key] = req.values[r.IntN(len(req.values))]
			} else {
				l[req.key] = "v"
			}
		}
	}
	return l
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "a", "!a", "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a>1", "a<1",
		"app=web,tier in (frontend,backend),!canary,version!=v1",
		"notin=in", "in in (in)", "a in ()", "a in (,)", "a in (x,,y)", "a in (x,,)",
		"a>=1", "a,", "example.com/a=b", " a = b ,\tc ", "a\x00", "a=b,a!=b", "a,!a",
		"x in (1),x in (2)", "a>5,a<6",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sel, err := Parse(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Input != in || pe.Offset < 0 || pe.Offset > len(in) {
				t.Fatalf("Parse(%q) error = %#v; want a *ParseError with the input and an offset in it", in, err)
			}
			return
		}
		str := sel.String()
		if got := string(sel.AppendTo(nil)); got != str {
			t.Fatalf("Parse(%q): AppendTo = %q; String = %q", in, got, str)
		}
		again, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", in, str, err)
		}
		if !again.Equal(sel) {
			t.Fatalf("Parse(%q) = %q, which parses to %q", in, str, again)
		}
		r := rand.New(rand.NewPCG(uint64(len(in)), 1))
		nothing := sel.MatchesNothing()
		for range 32 {
			l := labelsFor(r, sel)
			m := sel.Matches(l)
			if m != again.Matches(l) {
				t.Fatalf("Parse(%q) and Parse(%q) disagree on %v", in, str, l)
			}
			if m && nothing {
				t.Fatalf("Parse(%q).MatchesNothing() = true, yet it matches %v", in, l)
			}
			if m != sel.Matches(mapLabels(l)) {
				t.Fatalf("Parse(%q).Matches differs between Set and Labels on %v", in, l)
			}
		}
	})
}
