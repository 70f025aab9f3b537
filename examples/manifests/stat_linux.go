package manifests

import (
	"os"
	"syscall"
)

// fileID identifies a file's contents without reading them: a change of
// inode (a file replaced by rename), size, mtime or ctime (which every
// write and truncate moves, even when mtime is set back) means re-read.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
}

func idOf(fi os.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
		id.ctime = st.Ctim.Nano()
	}
	return id
}
