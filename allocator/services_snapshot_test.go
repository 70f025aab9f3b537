package allocator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// svcFixture is a dual-stack Services with a live NodePort service, a dual-stack
// LoadBalancer with a health-check port, a headless one and one released within its
// grace period.
func svcFixture(t testing.TB) (*Services, *fakeClock) {
	t.Helper()
	s, clock := testServices(t, true, true, time.Minute)
	steps := []struct {
		key string
		req ServiceRequest
	}{
		{"ns/web", web(NodePort)},
		{"ns/lb", ServiceRequest{Type: LoadBalancer, IPFamilyPolicy: RequireDualStack, ExternalTrafficPolicy: PolicyLocal, SharingKey: "k",
			Ports: []ServicePort{{Name: "dns", Protocol: UDP, Port: 53}, {Name: "dns-tcp", Port: 53}}}},
		{"ns/headless", ServiceRequest{Headless: true, IPFamilyPolicy: PreferDualStack}},
		{"ns/gone", ServiceRequest{Type: NodePort, IPFamilies: []IPFamily{IPv6}, Ports: []ServicePort{{Port: 8080}}}},
	}
	for _, st := range steps {
		if _, err := s.Allocate(st.key, st.req); err != nil {
			t.Fatal(err)
		}
	}
	s.Release("ns/gone")
	return s, clock
}

func TestServicesSnapshotRoundTrip(t *testing.T) {
	a, clock := svcFixture(t)
	blob := a.Snapshot()
	b, _ := testServices(t, true, true, time.Minute)
	if _, err := b.Allocate("ns/other", web(NodePort)); err != nil {
		t.Fatal(err)
	}
	if err := b.Restore(blob); err != nil {
		t.Fatalf("Restore = %v", err)
	}
	if got := b.Snapshot(); !bytes.Equal(got, blob) {
		t.Fatal("snapshot → restore → snapshot differs")
	}
	for _, k := range []string{"ns/web", "ns/lb", "ns/headless", "ns/gone"} {
		want, _ := a.Get(k)
		if got, ok := b.Get(k); !ok || !allocEqual(got, want) {
			t.Errorf("restored %s = %+v; want %+v", k, got, want)
		}
	}
	if _, ok := b.Get("ns/other"); ok {
		t.Error("Restore kept a service the snapshot does not hold")
	}
	if b.ports.Used() != a.ports.Used() || b.ips[0].Used() != a.ips[0].Used() || b.ips[1].Used() != a.ips[1].Used() {
		t.Errorf("restored allocators differ: ports %d/%d", b.ports.Used(), a.ports.Used())
	}
	// The restored state goes on without duplicates, and the release time came along.
	lb, _ := a.Get("ns/lb")
	n, err := b.Allocate("ns/new", ServiceRequest{Type: LoadBalancer, IPFamilyPolicy: RequireDualStack, SharingKey: "k",
		LoadBalancerIPs: lb.LoadBalancerIPs[:1], Ports: []ServicePort{{Port: 53, Protocol: UDP}}})
	if !errors.Is(err, ErrPortConflict) {
		t.Errorf("Allocate(clashing shared LB) after Restore = %+v, %v; want ErrPortConflict", n, err)
	}
	if gone := b.Expire(clock.t.Add(time.Minute)); len(gone) != 1 || gone[0] != "ns/gone" {
		t.Errorf("Expire after Restore = %v; want [ns/gone]", gone)
	}
}

// svcBlob seals hand-made records under s's identity, to reach the checks behind the
// checksum.
func svcBlob(s *Services, recs ...keyedRecord) []byte {
	buf := append([]byte(svcSnapMagic), svcSnapVersion)
	buf = appendStr(buf, s.id)
	buf = binary.AppendUvarint(buf, uint64(len(recs)))
	for _, d := range recs {
		buf = appendStr(buf, d.key)
		buf = d.rec.appendTo(buf)
	}
	return snapshotSeal(buf)
}

func cip(a string) *svcRecord {
	return &svcRecord{typ: ClusterIP, fams: []IPFamily{IPFamilyOf(netip.MustParseAddr(a))}, clusterIPs: addrs(a)}
}

func np(port uint16) *svcRecord {
	r := cip("10.96.0.40")
	r.typ, r.ports = NodePort, []ServicePort{{Port: 80, NodePort: port}}
	return r
}

// TestServicesRestoreRefusesDamage: a damaged state never yields a duplicate; it is
// refused whole, with the record named, and nothing changes (issue 13).
func TestServicesRestoreRefusesDamage(t *testing.T) {
	s, _ := svcFixture(t)
	good := s.Snapshot()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x20 // the checksum covers every byte, addresses included
	badVer := bytes.Clone(good)
	badVer[4] = 9
	single, _ := testServices(t, false, false, 0)
	lbRec := func(key, a string) keyedRecord {
		r := cip("10.96.0." + key)
		r.typ, r.lbIPs = LoadBalancer, addrs(a)
		return keyedRecord{"ns/" + key, r}
	}
	tests := []struct {
		name string
		blob []byte
		want error
	}{
		{"flipped byte", flipped, ErrCorruptSnapshot},
		{"truncated", good[:len(good)-3], ErrCorruptSnapshot},
		{"unknown version", reseal(badVer), ErrUnknownVersion},
		{"other configuration", single.Snapshot(), ErrMismatchedRange},
		{"one ClusterIP claimed twice", svcBlob(s, keyedRecord{"a", cip("10.96.0.50")}, keyedRecord{"b", cip("10.96.0.50")}), ErrCorruptSnapshot},
		{"one node port claimed twice", svcBlob(s, keyedRecord{"a", np(30050)}, keyedRecord{"b", func() *svcRecord { r := np(30050); r.clusterIPs = addrs("10.96.0.41"); return r }()}), ErrCorruptSnapshot},
		{"ClusterIP outside its range", svcBlob(s, keyedRecord{"a", cip("10.97.0.1")}), ErrCorruptSnapshot},
		{"IPv4 network address", svcBlob(s, keyedRecord{"a", cip("10.96.0.0")}), ErrCorruptSnapshot},
		{"node port outside its range", svcBlob(s, keyedRecord{"a", np(31000)}), ErrCorruptSnapshot},
		{"node port on a ClusterIP service", svcBlob(s, keyedRecord{"a", func() *svcRecord { r := np(30050); r.typ = ClusterIP; return r }()}), ErrCorruptSnapshot},
		{"ExternalName holding an address", svcBlob(s, keyedRecord{"a", func() *svcRecord { r := cip("10.96.0.9"); r.typ = ExternalName; return r }()}), ErrCorruptSnapshot},
		{"keys out of order", svcBlob(s, keyedRecord{"b", cip("10.96.0.50")}, keyedRecord{"a", cip("10.96.0.51")}), ErrCorruptSnapshot},
		{"LB address outside the pools", svcBlob(s, lbRec("1", "192.0.2.99")), ErrCorruptSnapshot},
		{"LB address shared without a key", svcBlob(s, lbRec("1", "192.0.2.10"), lbRec("2", "192.0.2.10")), ErrCorruptSnapshot},
		{"billions of records", func() []byte {
			buf := append([]byte(svcSnapMagic), svcSnapVersion)
			buf = appendStr(buf, s.id)
			return snapshotSeal(binary.AppendUvarint(buf, 1<<40))
		}(), ErrCorruptSnapshot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := svcFixture(t)
			before := b.Snapshot()
			if err := b.Restore(tt.blob); !errors.Is(err, tt.want) {
				t.Errorf("Restore(%s) = %v; want %v", tt.name, err, tt.want)
			}
			if !bytes.Equal(b.Snapshot(), before) {
				t.Errorf("failed Restore(%s) changed the state", tt.name)
			}
		})
	}
	ok := svcBlob(s, keyedRecord{"a", cip("10.96.0.50")}, keyedRecord{"b", np(30050)})
	if err := s.Restore(ok); err != nil {
		t.Errorf("Restore(hand-made valid) = %v", err)
	}
}

func FuzzServicesRestore(f *testing.F) {
	s, _ := svcFixture(f)
	f.Add(s.Snapshot())
	f.Add(svcBlob(s, keyedRecord{"a", cip("10.96.0.50")}, keyedRecord{"b", cip("10.96.0.50")}))
	f.Add(svcBlob(s, keyedRecord{"a", np(30050)}))
	f.Add([]byte("SVCS\x01"))
	body := s.Snapshot()
	f.Add(body[:len(body)-4])
	f.Fuzz(func(t *testing.T, blob []byte) {
		// Taken as it is, and as a body sealed with a good checksum, so that mutations
		// reach the checks behind the checksum.
		checkServicesRestore(t, blob)
		checkServicesRestore(t, snapshotSeal(bytes.Clone(blob)))
	})
}

func checkServicesRestore(t *testing.T, blob []byte) {
	b, ok := restoreHolds(t, func() *Services { s, _ := svcFixture(t); return s }, blob)
	if ok {
		checkServicesConsistent(t, b)
	}
}

// checkServicesConsistent: the records hold no value twice, and the allocators hold
// exactly what the records hold.
func checkServicesConsistent(t *testing.T, s *Services) {
	t.Helper()
	var ports, ips uint64
	for _, rec := range s.recs {
		ports += uint64(len(rec.nodePorts()))
		ips += uint64(len(rec.clusterIPs))
	}
	var used uint64
	for _, r := range s.ips {
		if r != nil {
			used += r.Used()
		}
	}
	// The allocators count distinct values; equal sums mean no value is held twice.
	if ports != s.ports.Used() || ips != used {
		t.Fatalf("records hold %d node ports, %d ClusterIPs; allocators %d, %d", ports, ips, s.ports.Used(), used)
	}
}
