package allocator

import (
	"bytes"
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
	var runs []uint64
	c.bm.runs(func(s, n uint64) { runs = append(runs, s, n) })
	buf := make([]byte, 0, 32+len(rangeID)+len(runs)*4)
	buf = append(buf, snapMagic...)
	buf = append(buf, snapVersion)
	buf = binary.AppendUvarint(buf, uint64(len(rangeID)))
	buf = append(buf, rangeID...)
	buf = binary.AppendUvarint(buf, c.size)
	buf = binary.AppendUvarint(buf, uint64(len(runs)/2))
	var end uint64
	for i := 0; i < len(runs); i += 2 {
		buf = binary.AppendUvarint(buf, runs[i]-end)
		buf = binary.AppendUvarint(buf, runs[i+1])
		end = runs[i] + runs[i+1]
	}
	return snapshotSeal(buf)
}

// snapshotSeal appends the checksum of body.
func snapshotSeal(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}

// restore decodes blob into a fresh bitmap and swaps it in only when the whole blob
// is valid, so a failed restore leaves the allocator unchanged.
func (c *core) restore(rangeID string, blob []byte) error {
	if len(blob) < len(snapMagic)+1+4 || string(blob[:4]) != snapMagic {
		return ErrCorruptSnapshot
	}
	body, sum := blob[:len(blob)-4], binary.LittleEndian.Uint32(blob[len(blob)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrCorruptSnapshot)
	}
	if body[4] != snapVersion {
		return fmt.Errorf("%w: %d", ErrUnknownVersion, body[4])
	}
	r := bytes.NewReader(body[5:])
	next := func() (uint64, error) {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return 0, fmt.Errorf("%w: truncated", ErrCorruptSnapshot)
		}
		return v, nil
	}
	idLen, err := next()
	if err != nil {
		return err
	}
	if idLen > uint64(r.Len()) {
		return fmt.Errorf("%w: truncated range", ErrCorruptSnapshot)
	}
	id := make([]byte, idLen)
	_, _ = r.Read(id)
	size, err := next()
	if err != nil {
		return err
	}
	if string(id) != rangeID || size != c.size {
		return fmt.Errorf("%w: snapshot %q, allocator %q", ErrMismatchedRange, id, rangeID)
	}
	nruns, err := next()
	if err != nil {
		return err
	}
	bm := newBitset(size)
	var end uint64
	for range nruns {
		gap, err := next()
		if err != nil {
			return err
		}
		n, err := next()
		if err != nil {
			return err
		}
		start := end + gap
		if start < end || (end > 0 && gap == 0) || n == 0 || start > size || n > size-start {
			return fmt.Errorf("%w: bad run", ErrCorruptSnapshot)
		}
		bm.setRun(start, n)
		end = start + n
	}
	if r.Len() != 0 {
		return fmt.Errorf("%w: trailing bytes", ErrCorruptSnapshot)
	}
	c.mu.Lock()
	c.bm = bm
	c.mu.Unlock()
	return nil
}

// setRun marks [start, start+n) on a bitmap whose range is known to be free.
func (b *bitmap) setRun(start, n uint64) {
	for n > 0 {
		w, off := start/64, start%64
		k := min(64-off, n)
		m := ^uint64(0)
		if k < 64 {
			m = (1<<k - 1) << off
		}
		b.words[w] |= m
		if b.words[w] == b.wordMask(w) {
			b.full[w/64] |= 1 << (w % 64)
		}
		b.used += k
		start += k
		n -= k
	}
}

// Snapshot returns the allocator's state in the versioned binary format described in
// the package docs; Restore accepts it.
func (r *IPRange) Snapshot() []byte { return r.c.snapshot(r.prefix.String()) }

// Restore replaces the allocator's state with blob. It returns ErrMismatchedRange,
// ErrCorruptSnapshot or ErrUnknownVersion and leaves the state unchanged on failure.
func (r *IPRange) Restore(blob []byte) error { return r.c.restore(r.prefix.String(), blob) }

// Snapshot returns the allocator's state; see IPRange.Snapshot.
func (r *PortRange) Snapshot() []byte { return r.c.snapshot(r.id()) }

// Restore replaces the allocator's state with blob; see IPRange.Restore.
func (r *PortRange) Restore(blob []byte) error { return r.c.restore(r.id(), blob) }

func (r *PortRange) id() string {
	return fmt.Sprintf("ports:%d-%d", r.base, uint64(r.base)+r.c.size-1)
}
