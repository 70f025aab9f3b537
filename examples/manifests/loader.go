package manifests

import (
	"cmp"
	"hash/maphash"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Loader loads a directory of manifests again and again, re-reading only
// the files whose inode, size, mtime or ctime changed since the last Load,
// and remembering which file each object came from, so that an object
// already loaded keeps its place against a duplicate that appears later in
// another file. Create one with NewLoader; the zero value is not usable.
// A Loader is safe for concurrent use; Loads are serialised.
type Loader struct {
	cfg Config

	seed maphash.Seed // hashes file contents, to see a rewrite with the same bytes

	mu sync.Mutex // protects files, owner, established and last
	// files caches each file's parse by name, keyed by its fileID.
	files map[string]cachedFile
	// owner maps every object named in the last Load to the document that
	// won it.
	owner map[objKey]Source
	// established holds the Services the last Load accepted; they win
	// address conflicts against newcomers.
	established map[objKey]struct{}
	// last is what the last Load read, to tell whether a Load changed anything.
	last []outcome
}

type cachedFile struct {
	id  fileID
	sum uint64 // maphash of the contents
	res *parsed
}

// outcome is what one Load made of one file: its parse, or why it was
// refused.
type outcome struct {
	name string
	res  *parsed
	err  string
}

// NewLoader returns a Loader for cfg; zero fields of cfg take the defaults
// Config documents.
func NewLoader(cfg Config) *Loader {
	return &Loader{cfg: cfg.withDefaults(), seed: maphash.MakeSeed(), files: map[string]cachedFile{}, owner: map[objKey]Source{}, established: map[objKey]struct{}{}}
}

// Config returns the Loader's configuration with defaults applied.
func (l *Loader) Config() Config { return l.cfg }

// Load reads the directory and returns every object that passed its checks,
// and one *Error for each file, document or object refused. One bad file,
// document or object never keeps the others out. A file refused as a whole
// (not regular, unreadable, too large) loads none of its objects this time,
// but its objects still hold their names against duplicates elsewhere.
// When the directory itself cannot be listed, the Set is empty and the one
// error wraps ErrDirectory. The returned values are the caller's; objects
// share their inner slices and maps with the Loader's cache and must not
// be modified.
func (l *Loader) Load() (Set, []error) {
	set, errs, _ := l.load(nil)
	return set, errs
}

// load is Load, and reports whether anything differs from the last load:
// a file added, removed, refused, or with other contents. With dirty set
// (from inotify events) only the files named in it, and those refused last
// time, are looked at; the others come from the cache without a stat. A
// nil dirty lists the directory and stats every file.
func (l *Loader) load(dirty map[string]bool) (Set, []error, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	names, fresh, err := l.names(dirty)
	if err != nil {
		e := &Error{File: l.cfg.Dir, Doc: -1, Err: reasonf(ErrDirectory, "%v", err)}
		now := []outcome{{err: e.Error()}}
		changed := !slices.Equal(now, l.last)
		l.last = now
		return Set{}, []error{e}, changed
	}
	read := l.readAll(names, fresh)
	parseAll(read, &l.cfg)
	var (
		errs  []*Error
		files = make([]fileResult, 0, len(names))
		next  = make(map[string]cachedFile, len(names))
		now   = make([]outcome, 0, len(names))
	)
	for _, r := range read {
		switch {
		case r.err == errGone:
			continue
		case r.err != nil:
			errs = append(errs, &Error{File: r.name, Doc: -1, Err: r.err})
			now = append(now, outcome{name: r.name, err: r.err.Error()})
			// Keep the last good parse's names, not its objects.
			if prev, ok := l.files[r.name]; ok {
				files = append(files, fileResult{res: prev.res, claimsOnly: true})
				next[r.name] = prev
			}
			continue
		}
		next[r.name] = r.c
		now = append(now, outcome{name: r.name, res: r.c.res})
		files = append(files, fileResult{res: r.c.res})
		errs = append(errs, r.c.res.errs...)
	}
	l.files = next
	changed := !slices.Equal(now, l.last)
	l.last = now
	set, more := l.resolve(files)
	errs = append(errs, more...)
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Doc, b.Doc))
	})
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return set, out, changed
}

// readResult is one file of a load: its cache entry, or why it was
// refused; data holds contents still to be parsed (c.res is nil then).
type readResult struct {
	name string
	c    cachedFile
	data []byte
	err  error
}

// readAll reads (or takes from the cache) every file in names, in order,
// counting their sizes against Config.MaxTotalBytes. Files in fresh are
// stat'ed; the others come from the cache.
func (l *Loader) readAll(names []string, fresh map[string]bool) []readResult {
	out := make([]readResult, 0, len(names))
	var total int64
	for _, name := range names {
		r := readResult{name: name}
		c, ok := l.files[name]
		if !ok || fresh[name] {
			r.c, r.data, r.err = l.readFile(name, total)
		} else {
			r.c, r.err = c, l.checkTotal(total, c.id.size)
		}
		if r.err == nil {
			total += r.c.id.size
		}
		out = append(out, r)
	}
	return out
}

// parseAll parses the files read has contents for, on as many cores as
// there are (a burst of changed files, as under churn, is parsed in
// parallel; YAML decoding is most of a load's cost).
func parseAll(read []readResult, cfg *Config) {
	var todo []int
	for i := range read {
		if read[i].err == nil && read[i].c.res == nil {
			todo = append(todo, i)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	if workers <= 1 {
		for _, i := range todo {
			read[i].c.res = parseFile(read[i].name, read[i].data, cfg)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := next.Add(1) - 1; k < int64(len(todo)); k = next.Add(1) - 1 {
				r := &read[todo[k]]
				r.c.res = parseFile(r.name, r.data, cfg)
			}
		}()
	}
	wg.Wait()
}

// names returns the names to load, sorted, and which of them must be
// stat'ed: all of them without dirty; with it, the dirty ones and those
// refused or missing last time.
func (l *Loader) names(dirty map[string]bool) ([]string, map[string]bool, error) {
	all := dirty == nil || len(l.last) == 0 || l.last[0].name == ""
	if all {
		names, err := listManifests(l.cfg.Dir)
		fresh := make(map[string]bool, len(names))
		for _, n := range names {
			fresh[n] = true
		}
		return names, fresh, err
	}
	fresh := make(map[string]bool, len(dirty))
	names := make([]string, 0, len(l.last)+len(dirty))
	for _, o := range l.last {
		names = append(names, o.name)
		if o.res == nil {
			fresh[o.name] = true
		}
	}
	for n := range dirty {
		if isManifestName(n) {
			names = append(names, n)
			fresh[n] = true
		}
	}
	slices.Sort(names)
	return slices.Compact(names), fresh, nil
}

// fileResult is one file's parse as a Load uses it; claimsOnly marks a
// file refused this time whose last parse still holds its names.
type fileResult struct {
	res        *parsed
	claimsOnly bool
}

// readFile returns name's cache entry: the cached parse when its fileID
// is unchanged or its contents are the same bytes, else the contents to
// parse (and an entry without a parse). total is what earlier files took
// of Config.MaxTotalBytes.
func (l *Loader) readFile(name string, total int64) (cachedFile, []byte, error) {
	path := filepath.Join(l.cfg.Dir, name)
	fi, err := statManifest(path, l.cfg.MaxFileBytes)
	if err != nil {
		return cachedFile{}, nil, err
	}
	if err := l.checkTotal(total, fi.Size()); err != nil {
		return cachedFile{}, nil, err
	}
	prev, ok := l.files[name]
	if ok && prev.id == idOf(fi) {
		return prev, nil, nil
	}
	data, id, err := readManifest(path, l.cfg.MaxFileBytes)
	if err != nil {
		return cachedFile{}, nil, err
	}
	if err := l.checkTotal(total, id.size); err != nil {
		return cachedFile{}, nil, err
	}
	c := cachedFile{id: id, sum: maphash.Bytes(l.seed, data)}
	if ok && prev.sum == c.sum {
		c.res = prev.res // rewritten with the same bytes: nothing changed
		return c, nil, nil
	}
	return c, data, nil // parsed by parseAll
}

func (l *Loader) checkTotal(total, size int64) error {
	if total+size > l.cfg.MaxTotalBytes {
		return reasonf(ErrTooLarge, "%d bytes would take the directory past its limit of %d bytes in total", size, l.cfg.MaxTotalBytes)
	}
	return nil
}
