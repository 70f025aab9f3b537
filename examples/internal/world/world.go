package world

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// World is a netnstest.World built for a program rather than a test:
// a node, an external host, a client pod and the named pods, each pod
// serving on the ports given to New. Close removes everything. It is safe
// for concurrent use as netnstest's World and Pod are.
type World struct {
	*netnstest.World
	// Pods are the named pods, by name.
	Pods map[string]*netnstest.Pod
	tb   *program
}

// New builds the world with the named pods, each serving TCP and UDP on
// port with netnstest's servers (an answer names the pod and the source
// it saw). On error everything made so far is removed.
func New(port uint16, pods ...string) (*World, error) {
	w := &World{Pods: map[string]*netnstest.Pod{}, tb: &program{}}
	err := w.tb.do(func(t testing.TB) {
		w.World = netnstest.NewWorld(t)
		for _, name := range pods {
			p := w.AddPod(t, name)
			p.Serve(t, port)
			w.Pods[name] = p
		}
	})
	if err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Close stops the servers and removes every namespace, in the reverse
// order of their making, and returns what failed.
func (w *World) Close() error { return w.tb.close() }

// program is a testing.TB for a program: netnstest builds namespaces
// through a testing.TB, so that a test fails and cleans up on its own,
// and the demo is a program, not a test. Rather than keep a second copy
// of the namespace plumbing (issue 12), the program hands netnstest this
// TB: failures become an error returned by do, cleanups run on close.
// Every method of testing.TB is defined here; the embedded nil TB only
// supplies testing's unexported marker method and is never called.
type program struct {
	testing.TB

	mu       sync.Mutex // protects the fields below
	cleanups []func()
	errs     []error
	skipped  bool
}

// do runs f as a test would: on a goroutine of its own, so that Fatal and
// Skip end f with runtime.Goexit. It returns what f reported.
func (p *program) do(f func(testing.TB)) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(p)
	}()
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

// close runs the cleanups, last registered first.
func (p *program) close() error {
	p.mu.Lock()
	cs := p.cleanups
	p.cleanups = nil
	p.errs = nil
	p.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

func (p *program) report(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs = append(p.errs, err)
}

func (p *program) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}
func (p *program) Error(args ...any)                 { p.report(errors.New(fmt.Sprint(args...))) }
func (p *program) Errorf(format string, args ...any) { p.report(fmt.Errorf(format, args...)) }
func (p *program) Fail()                             { p.report(errors.New("failed")) }
func (p *program) FailNow()                          { p.Fail(); runtime.Goexit() }
func (p *program) Fatal(args ...any)                 { p.Error(args...); runtime.Goexit() }
func (p *program) Fatalf(format string, args ...any) { p.Errorf(format, args...); runtime.Goexit() }
func (p *program) Skip(args ...any)                  { p.Skipf("%s", fmt.Sprint(args...)) }
func (p *program) SkipNow()                          { p.Skipf("skipped") }
func (p *program) Skipf(format string, args ...any) {
	p.mu.Lock()
	p.skipped = true
	p.mu.Unlock()
	p.report(fmt.Errorf("%w: "+format, append([]any{ErrNoNamespaces}, args...)...))
	runtime.Goexit()
}
func (p *program) Failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.errs) > 0
}
func (p *program) Skipped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.skipped
}
func (p *program) Helper()                  {}
func (p *program) Log(...any)               {}
func (p *program) Logf(string, ...any)      {}
func (p *program) Name() string             { return "svcnet-world" }
func (p *program) Attr(string, string)      {}
func (p *program) Output() io.Writer        { return io.Discard }
func (p *program) Context() context.Context { return context.Background() }
func (p *program) Setenv(key, value string) { p.Fatalf("world: Setenv(%q) is not for programs", key) }
func (p *program) Chdir(dir string)         { p.Fatalf("world: Chdir(%q) is not for programs", dir) }
func (p *program) ArtifactDir() string      { return p.TempDir() }
func (p *program) TempDir() string {
	dir, err := os.MkdirTemp("", "svcnet-world-")
	if err != nil {
		p.Fatalf("world: %v", err)
	}
	p.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
