package netnstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// netnsDir is where `ip netns add` bind-mounts named namespaces.
const netnsDir = "/run/netns"

// Require skips the test when this process cannot create named network
// namespaces (not root, no `ip` binary, no CAP_SYS_ADMIN, or a root mapped
// into a user namespace that cannot mount /run/netns), with a message
// saying why.
// When the CI environment variable is set it fails instead, so that kernel
// tests can never pass in CI by being skipped.
func Require(t testing.TB) {
	t.Helper()
	if err := probe(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("netnstest: kernel test cannot run in CI: %v", err)
		}
		t.Skipf("netnstest: skipping kernel test (needs root and iproute2; runs in CI): %v", err)
	}
}

func probe() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not running as root (euid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("iproute2 not installed: %w", err)
	}
	// Creating an unnamed namespace on a thread that is then thrown away
	// proves CLONE_NEWNET works without leaving anything behind.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is never unlocked: it is in a foreign namespace (or
		// may be) and the runtime terminates it when this goroutine ends.
		h, err := netns.New()
		if err == nil {
			h.Close()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("cannot create a network namespace: %w", err)
	}
	// Named namespaces need /run/netns, which a root mapped into a user
	// namespace (`unshare -rn`) may not mount: try one.
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	name := "svcnet-probe-" + hex.EncodeToString(rnd[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("cannot create a named network namespace: ip netns add: %w: %s", err, bytes.TrimSpace(out))
	}
	if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

// NS is a named network namespace created by this package. It is removed
// by the cleanup of the test that made it.
//
// The zero NS is invalid; use [NewNS]. An NS is safe for concurrent use.
type NS struct {
	name string
}

// NewNS creates a fresh named namespace whose name ends in role, brings its
// loopback up, turns IPv6 duplicate address detection off (so that addresses
// are usable at once) and registers its deletion with t.Cleanup.
func NewNS(t testing.TB, role string) *NS {
	t.Helper()
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("netnstest: random name: %v", err)
	}
	n := &NS{name: "svcnet-" + hex.EncodeToString(rnd[:]) + "-" + role}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Fatalf("netnstest: ip netns add %s: %v: %s", n.name, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", n.name).CombinedOutput(); err != nil {
			t.Errorf("netnstest: ip netns delete %s: %v: %s", n.name, err, bytes.TrimSpace(out))
		}
	})
	n.Sysctl(t, "net/ipv6/conf/all/accept_dad", "0")
	n.Sysctl(t, "net/ipv6/conf/default/accept_dad", "0")
	n.IP(t, "link", "set", "lo", "up")
	return n
}

// Name returns the namespace's name as `ip netns list` shows it.
func (n *NS) Name() string { return n.name }

// Path returns the file that pins the namespace, for
// netns.GetFromPath and the like.
func (n *NS) Path() string { return filepath.Join(netnsDir, n.name) }

// Handle opens the namespace; the handle is closed by t.Cleanup.
func (n *NS) Handle(t testing.TB) netns.NsHandle {
	t.Helper()
	h, err := netns.GetFromPath(n.Path())
	if err != nil {
		t.Fatalf("netnstest: open %s: %v", n.Path(), err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// IP runs `ip -n <ns> args...` and fails the test on error; it returns the
// command's standard output.
func (n *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := n.TryIP(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TryIP is [NS.IP] that returns the error instead of failing the test.
func (n *NS) TryIP(args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"-n", n.name}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("netnstest: ip -n %s %s: %v: %s", n.name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(out), nil
}

// Exec runs a command inside the namespace (`ip netns exec`) and returns
// its combined output and error.
func (n *NS) Exec(name string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.name, name}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("netnstest: ip netns exec %s %s %s: %w: %s", n.name, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Sysctl sets key (slash-separated, as under /proc/sys, for example
// "net/ipv4/ip_forward") inside the namespace only.
func (n *NS) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	err := n.Do(func() error {
		// /proc/sys/net resolves against the opening thread's namespace.
		return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644)
	})
	if err != nil {
		t.Fatalf("netnstest: sysctl %s=%s in %s: %v", key, value, n.name, err)
	}
}

// Do runs fn on an OS thread switched into the namespace and waits for it.
// Sockets fn creates stay in the namespace after Do returns, which is how
// servers and clients are placed. fn must not start goroutines that expect
// to inherit the namespace.
func (n *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netnstest: current namespace: %w", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(n.Path())
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netnstest: open %s: %w", n.Path(), err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			// Left locked: the thread's namespace is uncertain, so the
			// runtime must discard it when this goroutine exits.
			errc <- fmt.Errorf("netnstest: enter %s: %w", n.name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netnstest: leave %s: %w", n.name, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Exists reports whether a namespace with this name is still pinned under
// /run/netns.
func Exists(name string) bool {
	_, err := os.Stat(filepath.Join(netnsDir, name))
	return err == nil
}
