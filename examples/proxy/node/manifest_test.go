package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDir(t *testing.T) {
	m, err := LoadDir("testdata/manifests")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Errors) != 0 {
		t.Fatalf("LoadDir errors: %v", m.Errors)
	}
	if got, want := len(m.Services), 5; got != want {
		t.Errorf("services = %d; want %d", got, want)
	}
	if got, want := len(m.Pods), 3; got != want {
		t.Errorf("pods = %d; want %d", got, want)
	}
	if len(m.Slices) != 1 || m.Slices[0].ServiceName() != "legacy" {
		t.Errorf("slices = %+v; want one for legacy", m.Slices)
	}
	if len(m.Nodes) != 1 || m.Nodes[0].Zone() != "zone-a" {
		t.Errorf("nodes = %+v; want node-a in zone-a", m.Nodes)
	}
	s := m.Services[0]
	if s.Metadata.Namespace != "default" || s.Spec.Type != "ClusterIP" || s.Spec.Ports[0].Protocol != "TCP" || s.Spec.Ports[0].TargetPort.Int != 80 {
		t.Errorf("my-service defaults = %+v; want namespace default, type ClusterIP, TCP, targetPort 80", s)
	}
	if p := m.Pods[0]; !p.Ready() || p.IPs()[0].String() != "10.244.0.11" {
		t.Errorf("pod my-app-1 ready=%v ips=%v; want ready 10.244.0.11", p.Ready(), p.IPs())
	}
	if tp := m.Services[1].Spec.Ports[0].TargetPort; tp.Str != "http" {
		t.Errorf("web targetPort = %+v; want name http", tp)
	}
}

func TestLoadManifestErrors(t *testing.T) {
	const svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\nspec:\n  ports:\n  - port: 80\n"
	tests := []struct {
		name      string
		in        string
		wantDoc   int
		wantField string
		wantIn    string // substring of the reason
	}{
		{"bad yaml", svc + "---\nkind: [\n", 1, "", "invalid YAML"},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", 0, "kind", "required"},
		{"unknown kind", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", 0, "kind", "unsupported kind"},
		{"wrong apiVersion", "apiVersion: v2\nkind: Service\nmetadata: {name: x}\n", 0, "apiVersion", `want "v1"`},
		{"port type", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: eighty\n", 0, "spec.ports.port", "cannot use string"},
		{"port range", svc + "---\n" + strings.Replace(svc, "port: 80", "port: 70000", 1), 1, "spec.ports[0].port", "not in 1-65535"},
		{"missing name", "apiVersion: v1\nkind: Service\nspec: {ports: [{port: 80}]}\n", 0, "metadata.name", "required"},
		{"bad service name", "apiVersion: v1\nkind: Service\nmetadata: {name: My_Svc}\nspec: {ports: [{port: 80}]}\n", 0, "metadata.name", "DNS-1035"},
		{"unnamed multi port", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80}, {port: 81}]}\n", 0, "spec.ports[0].name", "required"},
		{"bad clusterIP", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {clusterIP: 10.96.0.300, ports: [{port: 80}]}\n", 0, "spec.clusterIP", "not an IP"},
		{"bad type", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: Magic, ports: [{port: 80}]}\n", 0, "spec.type", "unsupported"},
		{"externalName missing", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ExternalName}\n", 0, "spec.externalName", "not a DNS name"},
		{"bad pod ip", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: nope}\n", 0, "status.podIP", "not an IP"},
		{"slice no service", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n", 0, "metadata.labels", "kubernetes.io/service-name"},
		{"slice family", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: x}}\naddressType: IPv4\nendpoints: [{addresses: ['2001:db8::1']}]\n", 0, "endpoints[0].addresses[0]", "not an IPv4"},
		{"not a mapping", "- a\n- b\n", 0, "", "want a mapping"},
		{"duplicate", svc + "---\n" + svc, 1, "metadata.name", "already defined"},
		{"list item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  status: {podIP: x}\n", 0, "items[0].status.podIP", "not an IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := LoadManifest("f.yaml", []byte(tt.in))
			if len(m.Errors) != 1 {
				t.Fatalf("LoadManifest(%q) errors = %v; want one", tt.in, m.Errors)
			}
			var me *ManifestError
			if !errors.As(m.Errors[0], &me) || !errors.Is(m.Errors[0], ErrInvalidManifest) {
				t.Fatalf("error %v is not a *ManifestError wrapping ErrInvalidManifest", m.Errors[0])
			}
			if me.File != "f.yaml" || me.Doc != tt.wantDoc || me.Field != tt.wantField || !strings.Contains(me.Reason, tt.wantIn) {
				t.Errorf("error = %q (doc %d, field %q); want doc %d, field %q, reason containing %q", me, me.Doc, me.Field, tt.wantDoc, tt.wantField, tt.wantIn)
			}
		})
	}
}

func TestLoadManifestKeepsGoodDocuments(t *testing.T) {
	in := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n---\nkind: Service\n---\n\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {ports: [{port: 80}]}\n"
	m := LoadManifest("f.yaml", []byte(in))
	if len(m.Services) != 2 || len(m.Errors) != 1 {
		t.Errorf("LoadManifest = %d services, errors %v; want 2 services and 1 error", len(m.Services), m.Errors)
	}
}

func TestLoadDirSkipsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"a.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", ".hidden.yaml": "garbage: [", "notes.txt": "garbage: [",
		StateFileName: "{}", "b.json": `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b"}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := LoadDir(dir)
	if err != nil || len(m.Errors) != 0 || len(m.Pods) != 2 {
		t.Errorf("LoadDir = %d pods, %v, %v; want 2 pods, no errors", len(m.Pods), m.Errors, err)
	}
	if _, err := LoadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadDir(missing) = nil error; want one")
	}
}

func FuzzLoadManifest(f *testing.F) {
	for _, name := range []string{"service.yaml", "pods.yaml", "slices.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/manifests", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// One proxy for every input: resolving keeps allocations across calls,
	// which also exercises release and reuse.
	n, err := New(Config{Manifests: f.TempDir()}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := LoadManifest("fuzz.yaml", data)
		for _, err := range m.Errors {
			var me *ManifestError
			if !errors.As(err, &me) || me.File != "fuzz.yaml" {
				t.Fatalf("error %v is not a *ManifestError for fuzz.yaml", err)
			}
		}
		// Whatever loads must resolve without panicking.
		n.resolve(m)
	})
}
