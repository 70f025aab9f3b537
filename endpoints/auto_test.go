package endpoints

import (
	"fmt"
	"maps"
	"net/netip"
	"testing"
)

// zoned builds one IPv4 group with n ready endpoints per zone, in order.
func zoned(counts ...any) []Group {
	g := Group{Family: 4}
	i := 0
	for k := 0; k < len(counts); k += 2 {
		for range counts[k+1].(int) {
			i++
			g.Endpoints = append(g.Endpoints, Endpoint{
				Address: netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i%250 + 1)}), Zone: counts[k].(string),
				Conditions: Conditions{Ready: true, Serving: true},
			})
		}
	}
	return []Group{g}
}

func hintCounts(groups []Group) map[string]int {
	m := map[string]int{}
	for _, g := range groups {
		for _, e := range g.Endpoints {
			if e.Hints.ForZone != "" {
				m[e.Hints.ForZone]++
			}
		}
	}
	return m
}

func TestAutoHints(t *testing.T) {
	equal := []Node{{"a1", "a", 4000}, {"b1", "b", 4000}, {"c1", "c", 4000}}
	tests := []struct {
		name   string
		groups []Group
		nodes  []Node
		ok     bool
		want   map[string]int // zone hints per zone
	}{
		{"balanced zones hint themselves", zoned("a", 2, "b", 2, "c", 2), equal, true, map[string]int{"a": 2, "b": 2, "c": 2}},
		// 20 endpoints, a share of 6.67 each: a gives one away.
		{"surplus moves to the zone short of its share", zoned("a", 8, "b", 6, "c", 6), equal, true, map[string]int{"a": 7, "b": 7, "c": 6}},
		{"shares follow CPU, not node count", zoned("a", 6, "b", 3),
			[]Node{{"a1", "a", 2000}, {"a2", "a", 2000}, {"b1", "b", 2000}}, true, map[string]int{"a": 6, "b": 3}},
		{"a node without a zone disables hints", zoned("a", 2, "b", 2), []Node{{"a1", "a", 1000}, {"x", "", 1000}, {"b1", "b", 1000}}, false, map[string]int{}},
		{"a node without CPU disables hints", zoned("a", 2, "b", 2), []Node{{"a1", "a", 1000}, {"b1", "b", 0}}, false, map[string]int{}},
		{"one zone gives no hints", zoned("a", 3), []Node{{"a1", "a", 1000}, {"a2", "a", 1000}}, false, map[string]int{}},
		{"more zones than endpoints", zoned("a", 1, "b", 1), equal, false, map[string]int{}},
		{"an endpoint without a zone", zoned("a", 2, "b", 2, "", 1), []Node{{"a1", "a", 1000}, {"b1", "b", 1000}}, false, map[string]int{}},
		{"an endpoint in a zone no node has", zoned("a", 2, "b", 2, "z", 1), []Node{{"a1", "a", 1000}, {"b1", "b", 1000}}, false, map[string]int{}},
		// c holds 1 of 10 endpoints but a third of the CPU: ceil(10/3/1.2) = 3 > 1.
		{"a zone more than 20% short would be overloaded", zoned("a", 5, "b", 4, "c", 1), equal, false, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Stale hints must not survive a tripped safeguard.
			for i := range tt.groups[0].Endpoints {
				tt.groups[0].Endpoints[i].Hints.ForZone = "stale"
			}
			ok := AutoHints(tt.groups, tt.nodes)
			if got := hintCounts(tt.groups); ok != tt.ok || !maps.Equal(got, tt.want) {
				t.Errorf("AutoHints = %v, hints per zone %v; want %v, %v", ok, got, tt.ok, tt.want)
			}
		})
	}
}

// TestAutoHintsProportional checks on many layouts that, whenever hints are
// given, every ready endpoint has exactly one and each zone receives its
// CPU share of endpoints to within one.
func TestAutoHintsProportional(t *testing.T) {
	nodes := []Node{{"a1", "a", 3000}, {"b1", "b", 2000}, {"c1", "c", 1000}}
	share := map[string]float64{"a": 0.5, "b": 1.0 / 3, "c": 1.0 / 6}
	for na := 1; na <= 12; na++ {
		for nb := 1; nb <= 12; nb++ {
			for nc := 1; nc <= 6; nc++ {
				g := zoned("a", na, "b", nb, "c", nc)
				if !AutoHints(g, nodes) {
					continue
				}
				total := na + nb + nc
				got := hintCounts(g)
				sum := 0
				for z, n := range got {
					sum += n
					if d := float64(n) - share[z]*float64(total); d > 1 || d < -1 {
						t.Errorf("%s", fmt.Sprintf("a=%d b=%d c=%d: zone %s hinted %d; share %.1f", na, nb, nc, z, n, share[z]*float64(total)))
					}
				}
				if sum != total {
					t.Errorf("a=%d b=%d c=%d: %d hints for %d ready endpoints", na, nb, nc, sum, total)
				}
			}
		}
	}
}
