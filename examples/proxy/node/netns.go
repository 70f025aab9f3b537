package node

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
)

// OpenNetNS opens a namespace by name (as `ip netns add` makes them) or by
// path. Empty means the calling thread's namespace.
func OpenNetNS(spec string) (netns.NsHandle, error) {
	if spec == "" {
		return netns.Get()
	}
	h, err := netns.GetFromPath(netnsPath(spec))
	if err != nil {
		return netns.None(), fmt.Errorf("netns %q: %w", spec, err)
	}
	return h, nil
}

// netnsPath turns a namespace spec into its path: a name from `ip netns
// add` lives under /run/netns; anything with a slash is a path already.
func netnsPath(spec string) string {
	if spec == "" || strings.ContainsRune(spec, '/') {
		return spec
	}
	return filepath.Join("/run/netns", spec)
}

// InNetNS runs f on a locked OS thread switched into ns, then switches the
// thread back. Sockets f creates stay in ns for their whole life, which is
// how the DNS server listens inside the target namespace. If the thread
// cannot be switched back it is left locked, so that Go retires it rather
// than reusing it in the wrong namespace.
func InNetNS(ns netns.NsHandle, f func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: current: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: enter: %w", err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("netns: restore: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
