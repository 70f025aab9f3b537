package allocator

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Snapshot layout (all integers uvarint unless noted):
//
//	"SVCA" | version byte | len(range) | range | size | nruns | (gap, length)… | crc32c (4 bytes LE)
//
// Runs of set offsets encode both nearly-empty and nearly-full ranges compactly.
const (
	snapMagic   = "SVCA"
	snapVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (c *core) snapshot(rangeID string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Runs are encoded as they are found, then placed after their count: a slice of
	// run pairs would cost sixteen bytes per run where the encoding takes two to four.
	var runs []byte
	var n, end uint64
	c.bm.runs(func(s, k uint64) {
		runs = binary.AppendUvarint(runs, s-end)
		runs = binary.AppendUvarint(runs, k)
		end = s + k
		n++
	})
	buf := make([]byte, 0, 3*binary.MaxVarintLen64+len(snapMagic)+1+len(rangeID)+len(runs)+4)
	buf = append(buf, snapMagic...)
	buf = append(buf, snapVersion)
	buf = appendStr(buf, rangeID)
	buf = binary.AppendUvarint(buf, c.size)
	buf = binary.AppendUvarint(buf, n)
	buf = append(buf, runs...)
	return snapshotSeal(buf)
}

// snapshotSeal appends the checksum of body.
func snapshotSeal(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}

// snapReader reads the fields of a snapshot body; every error is ErrCorruptSnapshot.
type snapReader struct{ b []byte }

// openSnapshot checks the magic, checksum and version of blob and returns a reader
// over the fields after the version byte.
func openSnapshot(blob []byte, magic string, version byte) (*snapReader, error) {
	r, _, err := openSnapshotVersions(blob, magic, version, version)
	return r, err
}

// openSnapshotVersions is openSnapshot for a format that reads the versions oldest to
// newest; it also returns the blob's version.
func openSnapshotVersions(blob []byte, magic string, oldest, newest byte) (*snapReader, byte, error) {
	if len(blob) < len(magic)+1+4 || string(blob[:len(magic)]) != magic {
		return nil, 0, ErrCorruptSnapshot
	}
	body, sum := blob[:len(blob)-4], binary.LittleEndian.Uint32(blob[len(blob)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", ErrCorruptSnapshot)
	}
	v := body[len(magic)]
	if v < oldest || v > newest {
		return nil, 0, fmt.Errorf("%w: %d", ErrUnknownVersion, v)
	}
	return &snapReader{body[len(magic)+1:]}, v, nil
}

func (r *snapReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, fmt.Errorf("%w: truncated", ErrCorruptSnapshot)
	}
	r.b = r.b[n:]
	return v, nil
}

// bytes reads a length-prefixed field, checking the length against what is left
// before allocating anything.
func (r *snapReader) bytes() ([]byte, error) {
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: truncated", ErrCorruptSnapshot)
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b, nil
}

func (r *snapReader) str() (string, error) {
	b, err := r.bytes()
	return string(b), err
}

// count reads a number of entries of at least minBytes each, rejecting one the rest of
// the blob cannot hold, so that no claimed count is trusted before it is read.
func (r *snapReader) count(minBytes int) (uint64, error) {
	n, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(r.b)/minBytes) {
		return 0, fmt.Errorf("%w: count %d exceeds the blob", ErrCorruptSnapshot, n)
	}
	return n, nil
}

func (r *snapReader) end() error {
	if len(r.b) != 0 {
		return fmt.Errorf("%w: trailing bytes", ErrCorruptSnapshot)
	}
	return nil
}

// restore decodes blob and changes the allocator only when the whole blob is valid, so
// a failed restore leaves it unchanged. The runs are read twice: first to check them
// (bounds, order, total within the allocator's limit) without building anything, then
// to refill the set in place; a hostile blob claiming huge runs or counts costs no
// memory, and a valid one costs at most a constant times its length.
func (c *core) restore(rangeID string, blob []byte) error {
	r, err := openSnapshot(blob, snapMagic, snapVersion)
	if err != nil {
		return err
	}
	id, err := r.str()
	if err != nil {
		return err
	}
	size, err := r.uvarint()
	if err != nil {
		return err
	}
	if id != rangeID || size != c.size {
		return fmt.Errorf("%w: snapshot %q, allocator %q", ErrMismatchedRange, id, rangeID)
	}
	nruns, err := r.count(2)
	if err != nil {
		return err
	}
	runs := *r
	var total uint64
	if err := readRuns(r, nruns, size, func(_, n uint64) { total += n }); err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	if total > c.limit {
		return fmt.Errorf("%w: %d allocations exceed the limit of %d", ErrCorruptSnapshot, total, c.limit)
	}
	// Refill the set in place: a dense range allocates nothing, a sparse one what the
	// runs need (a long run is one span).
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bm.zero()
	_ = readRuns(&runs, nruns, size, c.bm.setRun) // checked above
	c.leaks = nil                                 // strikes counted against the replaced state are stale
	return nil
}

// readRuns reads nruns (gap, length) pairs and calls fn for each run, which it checks
// to be non-empty, ascending, maximal and inside [0, size). The total is at most size.
func readRuns(r *snapReader, nruns, size uint64, fn func(start, n uint64)) error {
	var end uint64
	for range nruns {
		gap, err := r.uvarint()
		if err != nil {
			return err
		}
		n, err := r.uvarint()
		if err != nil {
			return err
		}
		start := end + gap
		if start < end || (end > 0 && gap == 0) || n == 0 || start > size || n > size-start {
			return fmt.Errorf("%w: bad run", ErrCorruptSnapshot)
		}
		fn(start, n)
		end = start + n
	}
	return nil
}

// setRun marks [start, start+n) on a bitmap whose range is known to be free.
func (b *bitmap) setRun(start, n uint64) {
	b.used += n
	wordMasks(start, n, func(w, m uint64) {
		b.words[w] |= m
		if b.words[w] == b.wordMask(w) {
			b.full[w/64] |= 1 << (w % 64)
		}
	})
}

// Snapshot returns the allocator's state in the versioned binary format described in
// the package docs; Restore accepts it.
func (r *IPRange) Snapshot() []byte { return r.c.snapshot(r.id) }

// Restore replaces the allocator's state with blob. It returns ErrMismatchedRange,
// ErrCorruptSnapshot or ErrUnknownVersion and leaves the state unchanged on failure.
func (r *IPRange) Restore(blob []byte) error { return r.c.restore(r.id, blob) }

// Snapshot returns the allocator's state; see IPRange.Snapshot.
func (r *PortRange) Snapshot() []byte { return r.c.snapshot(r.id) }

// Restore replaces the allocator's state with blob; see IPRange.Restore.
func (r *PortRange) Restore(blob []byte) error { return r.c.restore(r.id, blob) }
