package proxy

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetNS runs f on a locked OS thread switched into the namespace at
// path (the caller's own when path is empty), then switches back. Sockets
// f opens stay in that namespace for their whole life. A thread that
// cannot be switched back stays locked, so Go retires it instead of
// reusing it in the wrong namespace.
func inNetNS(path string, f func() error) error {
	if path == "" {
		return f()
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("netns %q: %w", path, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: current: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %q: enter: %w", path, err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("netns: restore: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
