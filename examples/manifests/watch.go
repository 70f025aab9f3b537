package manifests

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch is NewLoader(cfg).Watch(ctx, fn).
func Watch(ctx context.Context, cfg Config, fn func(Set, []error)) error {
	return NewLoader(cfg).Watch(ctx, fn)
}

// Watch loads the directory, calls fn with the result, and then calls fn
// again after every change that alters what a Load returns, until ctx is
// done. It watches with inotify (no polling): a change to a manifest file,
// its removal or creation, a symlink swap (names starting with "..", as
// Kubernetes' ConfigMap volumes do) or the directory itself being removed,
// renamed or replaced. It waits Config.Debounce after the last change, but
// never more than Config.MaxWait after the first change it has not yet
// reported, so constant churn still loads at least every MaxWait. Hidden
// files and other extensions (editor swap files, a state file kept in the
// directory) are ignored. A change inside the target of a symlink that
// points out of the directory is not seen until something in the directory
// changes.
//
// fn is called from Watch's goroutine, one call at a time; a slow fn delays
// the next load, never overlaps it. Watch returns ctx's error when ctx is
// done, or an error when inotify cannot be set up, always after every
// goroutine it started has ended. A missing directory is reported to fn as
// an ErrDirectory and loaded when it appears. Calling Watch on one Loader
// from two goroutines serialises their Loads but is otherwise pointless.
func (l *Loader) Watch(ctx context.Context, fn func(Set, []error)) error {
	dir, err := filepath.Abs(l.cfg.Dir)
	if err != nil {
		return fmt.Errorf("manifests: watch %q: %w", l.cfg.Dir, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("manifests: watch %q: %w", dir, err)
	}
	defer w.Close() // ends fsnotify's goroutine before Watch returns
	// The parent tells when the directory itself is removed, renamed or
	// created again; inotify on the directory alone goes silent then.
	if err := w.Add(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("manifests: watch %q: %w", filepath.Dir(dir), err)
	}
	_ = w.Add(dir) // a missing directory is added when it appears
	set, errs, _ := l.load(nil)
	fn(set, errs)
	// dirty names the files events touched since the last load; nil means
	// load everything (the directory itself changed, or events were lost).
	dirty := map[string]bool{}
	d := debouncer{debounce: l.cfg.Debounce, maxWait: l.cfg.MaxWait}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.Events:
			if !ok {
				return fmt.Errorf("manifests: watch %q: inotify closed", dir)
			}
			if !relevant(dir, ev.Name) {
				continue
			}
			if base := filepath.Base(ev.Name); ev.Name == dir || strings.HasPrefix(base, "..") {
				dirty = nil // the directory, or every file behind a link, changed
				if ev.Name == dir {
					_ = w.Remove(dir) // the old inode's watch, if fsnotify kept it
					_ = w.Add(dir)
				}
			} else if dirty != nil {
				dirty[base] = true
			}
			timer.Reset(time.Until(d.event(time.Now())))
		case _, ok := <-w.Errors:
			if !ok {
				return fmt.Errorf("manifests: watch %q: inotify closed", dir)
			}
			// An overflowed queue lost events: load everything to catch up.
			dirty = nil
			timer.Reset(time.Until(d.event(time.Now())))
		case <-timer.C:
			d.fired()
			set, errs, changed := l.load(dirty)
			dirty = map[string]bool{}
			if changed {
				fn(set, errs)
			}
		}
	}
}

// relevant reports whether an event on name (a path) may change a Load:
// the directory itself, a manifest name in it, or a name starting with
// "..", Kubernetes' atomic-writer links.
func relevant(dir, name string) bool {
	if name == dir {
		return true
	}
	if filepath.Dir(name) != dir {
		return false // a sibling of the directory, seen through the parent
	}
	base := filepath.Base(name)
	return isManifestName(base) || strings.HasPrefix(base, "..")
}

// debouncer decides when a burst of changes is loaded: Debounce after the
// last change, but no later than MaxWait after the first one not yet
// loaded. The zero value never delays; Watch sets both durations.
type debouncer struct {
	debounce, maxWait time.Duration
	pending           bool
	first             time.Time // the first change not yet loaded
}

// event records a change at now and returns when to load.
func (d *debouncer) event(now time.Time) time.Time {
	if !d.pending {
		d.pending, d.first = true, now
	}
	at := now.Add(d.debounce)
	if limit := d.first.Add(d.maxWait); limit.Before(at) {
		at = limit
	}
	return at
}

// fired records that a load happened.
func (d *debouncer) fired() { d.pending = false }
