package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: Watch
// promises every goroutine it starts has ended when it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// write puts body in dir/name, failing the test on error.
func write(t testing.TB, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// svc is a minimal Service manifest with extra spec lines; unless they
// hold "  ports:", the service has one port, 80/TCP.
func svc(name, spec string) string {
	if !strings.Contains(spec, "  ports:") {
		spec = "  ports:\n  - port: 80\n" + spec
	}
	return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

func serviceNames(s Set) []string {
	var out []string
	for _, x := range s.Services {
		out = append(out, x.Key())
	}
	return out
}
