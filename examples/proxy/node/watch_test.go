package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatcherDebounces(t *testing.T) {
	dir := t.TempDir()
	writeManifest(t, dir, "a.yaml", "x: 1\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fired := make(chan time.Time, 10)
	w := &Watcher{Dir: dir, Interval: 10 * time.Millisecond, Debounce: 400 * time.Millisecond}
	go w.Run(ctx, func() { fired <- time.Now() })

	// A burst of writes is one change.
	for i := 0; i < 5; i++ {
		writeManifest(t, dir, "a.yaml", "x: "+string(rune('2'+i))+"\n")
		time.Sleep(10 * time.Millisecond) // well inside Debounce, even on a loaded machine
	}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported after a burst of writes")
	}
	select {
	case <-fired:
		t.Fatal("a burst of writes reported twice")
	case <-time.After(800 * time.Millisecond):
	}
	// Same bytes, other files and hidden files are not changes.
	writeManifest(t, dir, "a.yaml", "x: 6\n")
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hi"), 0o644)
	os.WriteFile(filepath.Join(dir, StateFileName), []byte("{}"), 0o644)
	select {
	case <-fired:
		t.Fatal("rewriting identical content, a .txt or the state file reported a change")
	case <-time.After(800 * time.Millisecond):
	}
	os.Remove(filepath.Join(dir, "a.yaml"))
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("removing a manifest was not reported")
	}
}
