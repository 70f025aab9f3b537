// Package world builds throw-away networks of namespaces for the demo and
// its end-to-end test — a node, pods, a client and an outside host — with
// internal/netnstest, the one copy of the namespace plumbing, which it
// drives through a testing.TB made for programs (see World). It never
// touches the namespaces it was started in: the whole process first moves
// into a private network and mount namespace (and a user namespace when it
// is not root), so that everything it makes disappears with the process,
// even on SIGKILL.
package world

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// envInside marks the re-executed child.
const envInside = "SVCNET_WORLD_INSIDE"

// ErrNoNamespaces is returned by Enter when neither root nor unprivileged
// user namespaces are available.
var ErrNoNamespaces = errors.New("cannot create network namespaces")

// Inside reports whether this process is the re-executed child.
func Inside() bool { return os.Getenv(envInside) == "1" }

// Enter re-executes the running program inside new network and mount
// namespaces (and a user namespace that maps the caller to root when it
// is not root), waits for it and returns its exit code. In the child it
// returns -1 at once after making the mount tree private and mounting a
// fresh /run, where `ip netns add` keeps its files. Signals the parent
// gets are passed on to the child, which cleans up.
func Enter() (int, error) {
	if Inside() {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return 0, fmt.Errorf("make mounts private: %w", err)
		}
		if err := unix.Mount("svcnet-run", "/run", "tmpfs", 0, "mode=0755"); err != nil {
			return 0, fmt.Errorf("mount /run: %w", err)
		}
		return -1, os.MkdirAll("/run/netns", 0o755)
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envInside+"=1")
	attr := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%w: %v\n%s", ErrNoNamespaces, err, howTo())
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sig:
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

func howTo() string {
	if os.Geteuid() == 0 {
		return "running as root, but the kernel refused new network and mount namespaces (a container without CAP_SYS_ADMIN?)"
	}
	return `unprivileged user namespaces are disabled here. Either:
  - run it as root:            sudo -E go run ./examples/demo
  - or allow user namespaces:  sudo sysctl -w kernel.unprivileged_userns_clone=1
                               sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0   (Ubuntu 23.10+)`
}

// RunTests runs m inside Enter's child, for test binaries whose tests
// build worlds. Without namespaces it skips every test, unless CI is set:
// then it fails.
func RunTests(m interface{ Run() int }) {
	code, err := Enter()
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "world: cannot create namespaces in CI:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "world: skipping, no namespaces:", err)
		os.Exit(0)
	}
	if code >= 0 {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
