package node

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"time"
)

// Watcher polls a manifest directory and reports changes after the
// directory has been quiet for Debounce. Polling is portable and cheap
// for the few files a node reads; it hashes contents so that an editor
// rewriting a file with the same bytes does not trigger a sync.
// The zero value is not usable; set Dir. Not safe for concurrent use.
type Watcher struct {
	Dir      string
	Interval time.Duration // zero means 100ms
	Debounce time.Duration // zero means 250ms

	base   [32]byte // the contents Run compares against, once primed
	primed bool
}

// Prime records the directory's current contents as the baseline, so
// that a change made after Prime and before Run starts is still seen.
// Call it before reading the manifests the first time.
func (w *Watcher) Prime() {
	w.base, w.primed = w.fingerprint(), true
}

// Run calls changed after each settled change until ctx is done. It does
// not call changed for the contents at Prime (or at Run, if not primed).
func (w *Watcher) Run(ctx context.Context, changed func()) {
	interval, debounce := w.Interval, w.Debounce
	if interval == 0 {
		interval = 100 * time.Millisecond
	}
	if debounce == 0 {
		debounce = 250 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	if !w.primed {
		w.Prime()
	}
	// A settled state is reported only when it differs from the last one
	// reported: a rewrite with the same bytes passes through a truncated
	// file on the way, which must not count as a change.
	last, reported := w.base, w.base
	var since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fp := w.fingerprint()
			if fp != last {
				last, since = fp, now
				continue
			}
			if last != reported && now.Sub(since) >= debounce {
				reported = last
				changed()
			}
		}
	}
}

// fingerprint hashes the names and contents of the manifest files; an
// unreadable directory hashes to a fixed value so that it recovers when
// the directory comes back.
func (w *Watcher) fingerprint() [32]byte {
	h := sha256.New()
	names, err := manifestFiles(w.Dir)
	if err != nil {
		return [32]byte{}
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(w.Dir, n))
		if err != nil {
			continue
		}
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(data)
		h.Write([]byte{0})
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
