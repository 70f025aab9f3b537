package dataplane

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/svcnet/svcnet/internal/netnstest"
	"go.uber.org/goleak"
)

// unprivilegedEnv makes the test binary act as an unprivileged New call
// on the namespace it names, for TestNewUnprivileged.
const unprivilegedEnv = "SVCNET_DATAPLANE_NEW_AS"

func TestMain(m *testing.M) {
	if ns, ok := os.LookupEnv(unprivilegedEnv); ok {
		d, err := New(Options{NetNS: ns})
		if err == nil {
			_ = d.Close()
			os.Stdout.WriteString("no error\n")
			os.Exit(0)
		}
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	if spec, ok := os.LookupEnv(freshEnv); ok {
		out, err := freshProcess(spec)
		if err != nil {
			os.Stdout.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString(out)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestNewUnprivileged: New as a user without privileges fails with an
// error that names the namespace and the capabilities it needs, not a bare
// "setns: operation not permitted".
func TestNewUnprivileged(t *testing.T) {
	netnstest.Require(t)
	ns := netnstest.NewNS(t, "dp")
	cmd := exec.Command(unprivilegedCopy(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), unprivilegedEnv+"="+ns.Path())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	msg := string(out)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("running the test binary as uid 65534: %v: %s", err, msg)
	}
	if err == nil {
		t.Fatalf("New as uid 65534 succeeded: %s", msg)
	}
	for _, want := range []string{ns.Path(), "CAP_SYS_ADMIN", "CAP_NET_ADMIN"} {
		if !strings.Contains(msg, want) {
			t.Errorf("New as uid 65534: error %q does not name %q", strings.TrimSpace(msg), want)
		}
	}
}

// unprivilegedCopy copies the test binary where uid 65534 may run it: the
// go tool builds it in a directory only its owner may enter.
func unprivilegedCopy(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "svcnet-dataplane-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dataplane.test")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
