//go:build !linux

package manifests

import "os"

// fileID identifies a file's contents without reading them; off Linux only
// size and mtime are portable.
type fileID struct {
	size, mtime int64
}

func idOf(fi os.FileInfo) fileID {
	return fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
