package proxy

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/resolved"
)

// legacyDir copies testdata/legacy's manifests into a fresh directory,
// with the version 1 state file (written by examples/proxy/node, the
// proxy before this package, on these manifests) as the state file.
func legacyDir(t *testing.T) (dir, state string) {
	dir = t.TempDir()
	for _, f := range []string{"services.yaml", "pods.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/legacy", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("testdata/legacy/svcnet-state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	state = filepath.Join(dir, StateFileName)
	if err := os.WriteFile(state, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, state
}

func legacyConfig(dir string) Config {
	return Config{Manifests: manifests.Config{Dir: dir}, Node: "n1",
		LBPool: []allocator.AddrRange{allocator.MustParseAddrRange("192.0.2.10-192.0.2.20")}}
}

// wantLegacy reads what the version 1 fixture recorded, per service, in
// the shape PrintAssigned gives.
func wantLegacy(t *testing.T) map[string]legacyAssignment {
	b, err := os.ReadFile("testdata/legacy/svcnet-state-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var old legacyState
	if err := json.Unmarshal(b, &old); err != nil || len(old.Services) != 4 {
		t.Fatalf("fixture: %v, %d services; want 4", err, len(old.Services))
	}
	return old.Services
}

func checkSameAsLegacy(t *testing.T, st *resolved.State, want map[string]legacyAssignment) {
	t.Helper()
	if len(st.Services) != len(want) {
		t.Fatalf("resolved %d services; want %d", len(st.Services), len(want))
	}
	for i := range st.Services {
		s := st.Services[i]
		w := want[s.Ref().String()]
		if len(s.ClusterIPs) != 1 || s.ClusterIPs[0] != netip.MustParseAddr(w.ClusterIPs[0]) {
			t.Errorf("%s: ClusterIPs %v; want %v (as before the upgrade)", s.Ref(), s.ClusterIPs, w.ClusterIPs)
		}
		for _, p := range s.Ports {
			if k := p.Protocol.String() + "/" + strconv.Itoa(int(p.Port)); p.NodePort != w.NodePorts[k] {
				t.Errorf("%s %s: node port %d; want %d", s.Ref(), k, p.NodePort, w.NodePorts[k])
			}
		}
		if s.HealthCheckNodePort != w.HealthCheckNodePort {
			t.Errorf("%s: health-check node port %d; want %d", s.Ref(), s.HealthCheckNodePort, w.HealthCheckNodePort)
		}
		var lb string
		if len(s.LoadBalancerIPs) > 0 {
			lb = s.LoadBalancerIPs[0].String()
		}
		if lb != w.LoadBalancerIP {
			t.Errorf("%s: LoadBalancer %q; want %q", s.Ref(), lb, w.LoadBalancerIP)
		}
	}
}

// TestLegacyStateMigrated: a state file written by the proxy before the
// control plane existed is read at start, and every service keeps its
// ClusterIP, node ports, health-check node port and LoadBalancer address;
// the file is rewritten in the current format, which a restart reads back
// to the same values.
func TestLegacyStateMigrated(t *testing.T) {
	dir, state := legacyDir(t)
	want := wantLegacy(t)
	p, err := New(legacyConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Resolve()
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	checkSameAsLegacy(t, st, want)
	var head struct{ Version int }
	if b, err := os.ReadFile(state); err != nil || json.Unmarshal(b, &head) != nil || head.Version != StateVersion {
		t.Fatalf("state file after migration: version %d, %v; want %d", head.Version, err, StateVersion)
	}
	again, err := New(legacyConfig(dir))
	if err != nil {
		t.Fatalf("restart on the migrated state: %v", err)
	}
	st, err = again.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	checkSameAsLegacy(t, st, want)
}

// TestDryRunWritesNoState: a dry run reads the old state (and shows what a
// restart keeps) but leaves the file as it was.
func TestDryRunWritesNoState(t *testing.T) {
	dir, state := legacyDir(t)
	before, _ := os.ReadFile(state)
	if err := DryRun(legacyConfig(dir), new(discard)); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(state)
	if string(before) != string(after) {
		t.Error("DryRun changed the state file")
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// TestStateRefused: a state file the proxy cannot trust stops it at start
// with ErrState, rather than letting it hand out addresses twice.
func TestStateRefused(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"not JSON", "{"},
		{"unknown version", `{"version": 99}`},
		{"damaged snapshot", `{"version": 2, "allocations": "AAAA"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, StateFileName), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := New(Config{Manifests: manifests.Config{Dir: dir}}); !errors.Is(err, ErrState) {
				t.Errorf("New with state %q: %v; want ErrState", tc.body, err)
			}
		})
	}
}

// TestWriteStateAtomic: the state file is replaced whole, with no
// temporary file left beside it.
func TestWriteStateAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, snap := range [][]byte{{1, 2, 3}, {4}} {
		if err := writeState(path, snap); err != nil {
			t.Fatal(err)
		}
	}
	var sf stateFile
	if b, err := os.ReadFile(path); err != nil || json.Unmarshal(b, &sf) != nil || string(sf.Allocations) != "\x04" {
		t.Errorf("state = %+v, %v; want the last snapshot", sf, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("state dir holds %d files; want 1 (no temporary leftovers)", len(ents))
	}
	if err := writeState(filepath.Join(dir, "gone", "state.json"), nil); err == nil {
		t.Error("writeState into a missing directory succeeded")
	}
}

// TestLegacyStateDuplicateNeverShared: a version 1 file in which two
// services claim one ClusterIP (a damaged or hand-edited file) never
// yields a duplicate: the allocator refuses the second claim, so one
// service keeps the address and the other is given a fresh one.
func TestLegacyStateDuplicateNeverShared(t *testing.T) {
	dir, state := legacyDir(t)
	dup := `{"version": 1, "services": {
  "default/web": {"clusterIPs": ["10.96.25.123"]},
  "kube-system/dns": {"clusterIPs": ["10.96.25.123"], "nodePorts": {"UDP/53": 32194}}}}`
	if err := os.WriteFile(state, []byte(dup), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := New(legacyConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]string{}
	for _, s := range st.Services {
		for _, ip := range s.ClusterIPs {
			if other, ok := seen[ip]; ok {
				t.Errorf("%s and %s share ClusterIP %s", other, s.Ref(), ip)
			}
			seen[ip] = s.Ref().String()
		}
	}
	if owner := seen[netip.MustParseAddr("10.96.25.123")]; owner != "default/web" && owner != "kube-system/dns" {
		t.Errorf("10.96.25.123 went to %q; want one of the services that recorded it", owner)
	}
}
