package dnsname

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestRecordSetGolden renders the record sets of one service of each kind
// as a zone file, so a change in any record shows up in review.
func TestRecordSetGolden(t *testing.T) {
	services := []Service{
		{Namespace: "prod", Name: "api", ClusterIPs: addrs("10.96.0.10", "fd00::10"),
			Ports: []Port{{Name: "http", Port: 80}, {Name: "dns", Protocol: UDP, Port: 53}, {Port: 9090}}},
		{Namespace: "prod", Name: "db", Type: Headless, Ports: []Port{{Name: "pg", Port: 5432}},
			Endpoints: []Endpoint{
				{Addrs: addrs("10.1.0.1", "fd00::1:1"), Hostname: "db-0", Ready: true},
				{Addrs: addrs("10.1.0.2"), Ready: true},
				{Addrs: addrs("fd00::1:3"), Ready: true},
				{Addrs: addrs("10.1.0.4"), Hostname: "db-3"},
			}},
		{Namespace: "prod", Name: "late", Type: Headless, PublishNotReadyAddresses: true,
			Endpoints: []Endpoint{{Addrs: addrs("10.2.0.1"), Hostname: "late-0"}}},
		// Endpoints of two EndpointSlices mapping "http" to different
		// target ports; only one of them serves "metrics".
		{Namespace: "prod", Name: "web", Type: Headless,
			Ports: []Port{{Name: "http", Port: 80}, {Name: "metrics", Port: 9100}},
			Endpoints: []Endpoint{
				{Addrs: addrs("10.4.0.1"), Hostname: "web-0", Ready: true,
					Ports: []EndpointPort{{Name: "http", Protocol: TCP, Port: 8080}, {Name: "metrics", Protocol: TCP, Port: 9100}}},
				{Addrs: addrs("10.4.0.2"), Hostname: "web-1", Ready: true,
					Ports: []EndpointPort{{Name: "http", Protocol: TCP, Port: 8081}}},
			}},
		{Namespace: "prod", Name: "ext", Type: ExternalName, ExternalName: "db.example.com"},
		{Namespace: "prod", Name: "extip", Type: ExternalName, ExternalName: "192.0.2.1"},
	}
	var b strings.Builder
	for _, s := range services {
		rs, err := RecordSet(s, CatalogOptions{})
		if err != nil {
			t.Fatalf("RecordSet(%s/%s) = %v", s.Namespace, s.Name, err)
		}
		b.WriteString("; " + s.Namespace + "/" + s.Name + " (" + s.Type.String() + ")\n")
		for _, r := range rs {
			b.WriteString(r.String() + "\n")
		}
	}
	path := filepath.Join("testdata", "recordsets.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("record sets differ from %s (run go test -update after checking):\n%s", path, got)
	}
}
