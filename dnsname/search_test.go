package dnsname

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	pod := PodSearch("default", "cluster.local")
	tests := []struct {
		name   string
		in     string
		search []string
		ndots  int
		want   []string
	}{
		{"external name costs four queries", "api.example.com", pod, 5, []string{
			"api.example.com.default.svc.cluster.local.",
			"api.example.com.svc.cluster.local.",
			"api.example.com.cluster.local.",
			"api.example.com.",
		}},
		{"ndots 2 tries as-is first", "api.example.com", pod, 2, []string{
			"api.example.com.",
			"api.example.com.default.svc.cluster.local.",
			"api.example.com.svc.cluster.local.",
			"api.example.com.cluster.local.",
		}},
		{"trailing dot is absolute", "api.example.com.", pod, 5, []string{"api.example.com."}},
		{"short service name", "api", pod, 5, []string{
			"api.default.svc.cluster.local.",
			"api.svc.cluster.local.",
			"api.cluster.local.",
			"api.",
		}},
		{"dots equal ndots", "a.b", []string{"x"}, 1, []string{"a.b.", "a.b.x."}},
		{"ndots 0", "a", []string{"x"}, 0, []string{"a.", "a.x."}},
		{"no search list", "a", nil, 5, []string{"a."}},
		{"search domain with dot", "a", []string{"x.", ""}, 5, []string{"a.x.", "a."}},
		{"empty", "", pod, 5, nil},
		{"root", ".", pod, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expand(tt.in, tt.search, tt.ndots); !slices.Equal(got, tt.want) {
				t.Errorf("Expand(%q, %q, %d) = %q; want %q", tt.in, tt.search, tt.ndots, got, tt.want)
			}
		})
	}
}

func TestPodSearch(t *testing.T) {
	got := PodSearch("prod", "")
	want := []string{"prod.svc.cluster.local", "svc.cluster.local", "cluster.local"}
	if !slices.Equal(got, want) {
		t.Errorf("PodSearch(prod, \"\") = %q; want %q", got, want)
	}
}

func TestLimitSearch(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf("d%d.example", i)
	}
	if got := LimitSearch(many); len(got) != MaxSearchDomains || got[31] != "d31.example" {
		t.Errorf("LimitSearch(40 domains) kept %d (last %q); want 32 ending d31.example", len(got), got[len(got)-1])
	}
	// 9 domains of 250 characters joined by spaces take 2,258 characters:
	// only 8 (2,007) fit in 2,048.
	long := make([]string, 9)
	for i := range long {
		long[i] = strings.Repeat(string(rune('a'+i)), 250)
	}
	got := LimitSearch(long)
	if len(got) != 8 {
		t.Errorf("LimitSearch(9 × 250 chars) kept %d; want 8", len(got))
	}
	if n := len(strings.Join(got, " ")); n > MaxSearchChars {
		t.Errorf("LimitSearch kept %d characters; want ≤ %d", n, MaxSearchChars)
	}
	// Exactly 2,048 characters fit.
	exact := []string{strings.Repeat("a", 1023), strings.Repeat("b", 1024)}
	if got := LimitSearch(exact); len(got) != 2 {
		t.Errorf("LimitSearch(2,048 chars) kept %d; want 2", len(got))
	}
	if got := Expand("x", many, 5); len(got) != MaxSearchDomains+1 {
		t.Errorf("Expand with 40 domains = %d queries; want %d", len(got), MaxSearchDomains+1)
	}
}
