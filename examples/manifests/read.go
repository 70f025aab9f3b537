package manifests

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// listManifests returns the manifest names in dir, sorted: *.yaml, *.yml
// and *.json, not starting with ".". Directory entries are not followed
// here; readManifest decides what each name is.
func listManifests(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if isManifestName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func isManifestName(n string) bool {
	if strings.HasPrefix(n, ".") {
		return false
	}
	switch filepath.Ext(n) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// errGone means the name disappeared between listing and reading: not an
// error, the file is simply no longer there.
var errGone = errors.New("gone")

// statManifest stats path, following symlinks, and refuses anything that
// is not a regular file of at most max bytes. Stat never blocks, not even
// on a FIFO, and never reads.
func statManifest(path string, max int64) (os.FileInfo, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return nil, reasonf(ErrNotRegular, "symlink loop")
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(path); lerr == nil {
			return nil, reasonf(ErrNotRegular, "dangling symlink")
		}
		return nil, errGone
	case err != nil:
		return nil, reasonf(ErrUnreadable, "%v", err)
	}
	if err := checkRegular(fi); err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, reasonf(ErrTooLarge, "%d bytes, more than the limit of %d per file", fi.Size(), max)
	}
	return fi, nil
}

func checkRegular(fi os.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "a special file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return reasonf(ErrNotRegular, "%s, not a regular file", what)
}

// readManifest reads a file statManifest accepted. It opens with O_NONBLOCK
// so that a file swapped for a FIFO after the stat cannot block, checks
// the opened file again with fstat, and reads at most max+1 bytes, so that
// a file that grows (or a device that never ends) costs at most max.
// The returned fileID is the opened file's, taken before reading: a write
// during the read changes the file's ID and is read again next time.
func readManifest(path string, max int64) ([]byte, fileID, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fileID{}, errGone
		}
		return nil, fileID{}, reasonf(ErrUnreadable, "%v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileID{}, reasonf(ErrUnreadable, "%v", err)
	}
	if err := checkRegular(fi); err != nil {
		return nil, fileID{}, err
	}
	if fi.Size() > max {
		return nil, fileID{}, reasonf(ErrTooLarge, "%d bytes, more than the limit of %d per file", fi.Size(), max)
	}
	buf := make([]byte, 0, fi.Size()+1)
	data, err := readAllInto(buf, io.LimitReader(f, max+1))
	if err != nil {
		return nil, fileID{}, reasonf(ErrUnreadable, "%v", err)
	}
	if int64(len(data)) > max {
		return nil, fileID{}, reasonf(ErrTooLarge, "grew past the limit of %d bytes per file while being read", max)
	}
	return data, idOf(fi), nil
}

// readAllInto is io.ReadAll into a buffer sized from fstat, so a regular
// file is read without regrowing.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
