package dataplane

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// TestIsolation: each input that the kernel would refuse (issue 13's list)
// is refused alone — named in a *SyncError with its sentinel — and the
// ruleset holds every other service port exactly as without it. Where two
// service ports claim one frontend, the first listed keeps it, as
// Kubernetes keeps the established object and refuses the newcomer.
func TestIsolation(t *testing.T) {
	svc := func(name string, f func(*ServicePort)) ServicePort {
		sp := ServicePort{Namespace: "tenant", Name: name, Protocol: TCP, Port: 80,
			ClusterIPs: addrs("10.96.1.1"), Endpoints: []Endpoint{ep("10.244.1.1:8080")}}
		f(&sp)
		return sp
	}
	tests := []struct {
		name    string
		bad     ServicePort
		wantErr error
	}{
		{"externalIPs 0.0.0.0", svc("bad", func(sp *ServicePort) { sp.ExternalIPs = addrs("0.0.0.0") }), ErrInvalid},
		{"externalIPs ::", svc("bad", func(sp *ServicePort) { sp.ExternalIPs = addrs("::") }), ErrInvalid},
		{"external IP is another service's ClusterIP and port", svc("bad", func(sp *ServicePort) {
			sp.ClusterIPs, sp.ExternalIPs = addrs("10.96.1.2"), addrs("10.96.0.53")
			sp.Protocol, sp.Port = UDP, 53
		}), ErrConflict},
		{"external IP is another service's LoadBalancer IP and port", svc("bad", func(sp *ServicePort) {
			sp.ClusterIPs, sp.ExternalIPs, sp.Port = addrs("10.96.1.2"), addrs("192.0.2.10"), 443
		}), ErrConflict},
		{"two services on one external IP and port", svc("bad", func(sp *ServicePort) {
			sp.ClusterIPs, sp.ExternalIPs, sp.Port = addrs("10.96.1.2"), addrs("198.51.100.7"), 443
		}), ErrConflict},
		{"two ports of one service on one port number", svc("bad", func(sp *ServicePort) {
			sp.Namespace, sp.Name, sp.PortName, sp.Protocol, sp.ClusterIPs, sp.Port = "kube-system", "dns", "dns-2", UDP, addrs("10.96.0.53"), 53
		}), ErrConflict},
		{"one NodePort twice", svc("bad", func(sp *ServicePort) { sp.NodePort = 30443 }), ErrConflict},
		{"own ClusterIP again as external IP", svc("bad", func(sp *ServicePort) { sp.ExternalIPs = sp.ClusterIPs }), ErrConflict},
		{"pod IP 0.0.0.0", svc("bad", func(sp *ServicePort) { sp.Endpoints = []Endpoint{ep("0.0.0.0:8080")} }), ErrInvalid},
		{"endpoint port without a number", svc("bad", func(sp *ServicePort) { sp.Endpoints = []Endpoint{ep("10.244.1.1:0")} }), ErrInvalid},
		{"local endpoint ::", svc("bad", func(sp *ServicePort) { sp.LocalEndpoints = []Endpoint{ep("[::]:80")} }), ErrInvalid},
		{"no frontend", svc("bad", func(sp *ServicePort) { sp.ClusterIPs = nil }), ErrInvalid},
	}
	good := []ServicePort{dns(), local(), web(2)}
	want, err := Render(Options{}, good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The bad one listed first and last: order decides nothing but
			// who keeps a contested frontend, and the good ones were first.
			in := append(append([]ServicePort{}, good...), tt.bad)
			got, err := Render(Options{}, in)
			var se *SyncError
			if !errors.As(err, &se) || len(se.Refused) != 1 || se.Refused[0].Key != tt.bad.Key() || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Render: error %v; want a *SyncError refusing only %v with %v", err, tt.bad.Key(), tt.wantErr)
			}
			if got != want {
				t.Errorf("Render with %s: the good service ports differ from a rendering without it:\n%s", tt.name, got)
			}
			if verr := Validate(Options{}, in); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate = %v; want the same as Render's %v", verr, err)
			}
		})
	}
}

// TestIsolationEstablishedKeepsItsPlace: a newcomer listed before the
// service port that holds a frontend is refused, not the holder.
func TestIsolationEstablishedKeepsItsPlace(t *testing.T) {
	st, err := newState(&Options{})
	if err != nil {
		t.Fatal(err)
	}
	holder := dns()
	if _, refused := st.update([]ServicePort{holder}, true); refused != nil {
		t.Fatal(refused)
	}
	newcomer := dns()
	newcomer.Name = "newcomer"
	holder.Endpoints = holder.Endpoints[:1] // the holder changes in the same sync
	_, refused := st.update([]ServicePort{newcomer, holder}, true)
	if len(refused) != 1 || refused[0].Key != newcomer.Key() || !errors.Is(refused[0].Err, ErrConflict) {
		t.Fatalf("refused %v; want only the newcomer, with ErrConflict", refused)
	}
	if fr := st.frags[holder.Key()]; fr == nil || fr.packed() != string(holder.pack(nil)) {
		t.Error("the holder's new version was not programmed")
	}
}

// TestKernelIsolatesRefusedServicePort: when the kernel refuses what one
// service port contributes (here an element whose key has the wrong
// length, which no valid input produces), the batch fails whole; commit
// then finds that service port, leaves it out, and programs the others.
func TestKernelIsolatesRefusedServicePort(t *testing.T) {
	o := Options{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}}
	d, _ := kernelDataplane(t, o)
	good := []ServicePort{dns(), local(), web(3)}
	bad := svcNamed("broken", "10.96.7.7")
	st, err := newState(&d.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, refused := st.update(append(slices.Clone(good), bad), false); refused != nil {
		t.Fatal(refused)
	}
	breakKey(st, st.frags[bad.Key()])
	stats := commitRefusing(t, d, st, bad.Key())
	if !stats.Full || stats.Batches < 3 {
		t.Errorf("stats %+v; want a full sync of several batches (failed, probes, final)", stats)
	}
	assertKernel(t, d, o, good)
	// The state is what the kernel holds: an incremental sync goes on from it.
	if _, err := d.Sync(t.Context(), good); err != nil {
		t.Fatalf("Sync after isolation: %v", err)
	}
	assertKernel(t, d, o, good)
}

// commitRefusing has d commit st whole, which must succeed with only
// the service port of key bad refused, and returns the commit's Stats.
func commitRefusing(t *testing.T, d *Dataplane, st *state, bad Key) Stats {
	t.Helper()
	var stats Stats
	d.mu.Lock()
	refused, err := d.commit(st, nil, &stats)
	d.mu.Unlock()
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	if len(refused) != 1 || refused[0].Key != bad {
		t.Fatalf("refused %v; want only %v", refused, bad)
	}
	return stats
}

// breakKey shrinks the key of fr's first endpoint to 3 bytes, the rest
// counted as data: a key the kernel refuses.
func breakKey(st *state, fr *frag) {
	i := slices.IndexFunc(fr.spans, func(s span) bool { return st.base[s.set].name == "endpoints4" })
	start := 0
	if i > 0 {
		start = int(fr.spans[i-1].end)
	}
	b := []byte(fr.elems)
	b[start+1] += b[start] - 3
	b[start] = 3
	fr.elems = string(b)
}

func svcNamed(name, ip string) ServicePort {
	return ServicePort{Namespace: "default", Name: name, Protocol: TCP, Port: 80,
		ClusterIPs: addrs(ip), Endpoints: []Endpoint{ep("10.244.7.7:8080")}}
}
