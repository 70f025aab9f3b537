package allocator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		n      int
	}{
		{"empty", "10.0.0.0/24", 0},
		{"partial", "10.0.0.0/22", 500},
		{"full", "10.0.0.0/24", 254},
		{"v6", "fd00::/116", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := netip.MustParsePrefix(tt.prefix)
			a, _ := NewIPRange(p, Config{Rand: rand.NewPCG(1, 1)})
			for range tt.n {
				if _, err := a.AllocateNext(); err != nil {
					t.Fatal(err)
				}
			}
			s1 := a.Snapshot()
			b, _ := NewIPRange(p, Config{})
			if err := b.Restore(s1); err != nil {
				t.Fatalf("Restore = %v", err)
			}
			if b.Used() != a.Used() {
				t.Errorf("Used after restore = %d; want %d", b.Used(), a.Used())
			}
			for x := range a.All() {
				if !b.Has(x) {
					t.Fatalf("restored allocator lacks %v", x)
				}
			}
			if s2 := b.Snapshot(); !bytes.Equal(s1, s2) {
				t.Errorf("snapshot → restore → snapshot differs")
			}
		})
	}
}

func TestRestoreErrors(t *testing.T) {
	a, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/24"), Config{})
	_ = a.Allocate(netip.MustParseAddr("10.0.0.9"))
	good := a.Snapshot()
	other, _ := NewIPRange(netip.MustParsePrefix("10.0.1.0/24"), Config{})
	badVer := bytes.Clone(good)
	badVer[4] = 9
	badVer = reseal(badVer)
	flipped := bytes.Clone(good)
	flipped[len(flipped)-6] ^= 1
	tests := []struct {
		name string
		blob []byte
		want error
	}{
		{"other range", other.Snapshot(), ErrMismatchedRange},
		{"truncated", good[:len(good)-3], ErrCorruptSnapshot},
		{"empty", nil, ErrCorruptSnapshot},
		{"bit flip", flipped, ErrCorruptSnapshot},
		{"unknown version", badVer, ErrUnknownVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/24"), Config{})
			_ = b.Allocate(netip.MustParseAddr("10.0.0.77"))
			before := b.Snapshot()
			if err := b.Restore(tt.blob); !errors.Is(err, tt.want) {
				t.Errorf("Restore(%s) = %v; want %v", tt.name, err, tt.want)
			}
			if !bytes.Equal(b.Snapshot(), before) {
				t.Errorf("failed Restore(%s) changed the allocator", tt.name)
			}
		})
	}
}

// reseal recomputes the trailing checksum so a test can reach checks after it.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return snapshotSeal(body)
}

func FuzzRestore(f *testing.F) {
	a, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/24"), Config{})
	f.Add(a.Snapshot())
	_, _ = a.AllocateNext()
	f.Add(a.Snapshot())
	f.Add([]byte("SVCA\x01"))
	f.Add(rangeBlob("10.0.0.0/24", 254, 1<<40))
	f.Add(rangeBlob("10.0.0.0/24", 254, 2, 3, 4, 5, 6))
	const v6 = "fd00::/64"
	s, _ := NewIPRange(netip.MustParsePrefix(v6), Config{Rand: rand.NewPCG(1, 2)})
	for range 100 {
		_, _ = s.AllocateNext()
	}
	f.Add(s.Snapshot())
	f.Add(rangeBlob(v6, ^uint64(0), 1<<40, 0, 1))
	f.Add(rangeBlob(v6, ^uint64(0), 1, 5, ^uint64(0)))
	f.Add(rangeBlob(v6, ^uint64(0), 1, 0, maxSparseUsed+1))
	f.Add(rangeBlob(v6, ^uint64(0), 1, 1000, 1<<20))
	f.Add(rangeBlob(v6, ^uint64(0), 1, 0, maxSparseUsed))
	f.Add(rangeBlob(v6, ^uint64(0), 3, 5, 700, 3, 64*9, 1, 1))
	f.Fuzz(func(t *testing.T, blob []byte) {
		// The blob may name either range; both must survive it.
		checkRestore(t, "fd00::/64", blob)
		checkRestore(t, "10.0.0.0/24", blob)
	})
}

// restoreHolds checks Restore's contract on allocators from mk: it allocates no
// more than restoreCostBound, a failed Restore leaves the allocator as it was, and
// what it accepts round-trips through a fresh one. It returns the allocator and whether blob was taken.
func restoreHolds[S snapshotter](t *testing.T, mk func() S, blob []byte) (S, bool) {
	t.Helper()
	b := mk()
	before := b.Snapshot()
	var err error
	if n := allocBytes(func() { err = b.Restore(blob) }); n > restoreCostBound(blob) {
		t.Fatalf("Restore of %d bytes allocated %d bytes; want ≤ %d", len(blob), n, restoreCostBound(blob))
	}
	if err != nil {
		if !bytes.Equal(b.Snapshot(), before) {
			t.Fatal("failed Restore mutated the allocator")
		}
		return b, false
	}
	s := b.Snapshot()
	c := mk()
	if err := c.Restore(s); err != nil || !bytes.Equal(c.Snapshot(), s) {
		t.Fatalf("accepted blob does not round-trip: %v", err)
	}
	return b, true
}

func checkRestore(t *testing.T, prefix string, blob []byte) {
	p := netip.MustParsePrefix(prefix)
	b, ok := restoreHolds(t, func() *IPRange {
		r, _ := NewIPRange(p, Config{})
		// Something held, so that a failed Restore has state to keep.
		if _, err := r.AllocateNext(); err != nil {
			t.Fatal(err)
		}
		return r
	}, blob)
	if !ok {
		return
	}
	if b.Used() > 1<<16 {
		return // a long restored run is legitimate but slow to walk one by one
	}
	n := uint64(0)
	for range b.All() {
		n++
	}
	if n != b.Used() || b.Used() > b.Size() {
		t.Fatalf("restored counts inconsistent: iterated %d, Used %d, Size %d", n, b.Used(), b.Size())
	}
}

func BenchmarkSnapshotAt99Of12(b *testing.B) {
	r, _ := NewIPRange(netip.MustParsePrefix("10.96.0.0/12"), Config{})
	fill99(b, r)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Snapshot()
	}
}

func BenchmarkRestoreAt99Of12(b *testing.B) {
	r, _ := NewIPRange(netip.MustParsePrefix("10.96.0.0/12"), Config{})
	fill99(b, r)
	s := r.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Restore(s); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRunsMatchBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, size := range []uint64{1, 63, 64, 65, 200, 1000} {
		for _, density := range []int{0, 10, 50, 90, 100} {
			b := newBitmap(size)
			for o := range size {
				if rng.IntN(100) < density {
					b.set(o)
				}
			}
			got := newBitmap(size)
			var prevEnd uint64
			b.runs(func(s, n uint64) {
				if s != 0 && s <= prevEnd {
					t.Errorf("size %d density %d: run at %d not maximal after %d", size, density, s, prevEnd)
				}
				got.setRun(s, n)
				prevEnd = s + n
			})
			for o := range size {
				if got.has(o) != b.has(o) {
					t.Fatalf("size %d density %d: runs disagree at %d", size, density, o)
				}
			}
		}
	}
}

// rangeBlob builds a snapshot for r from hand-made runs (gap, length pairs), to reach
// the checks behind the checksum.
func rangeBlob(id string, size, nruns uint64, pairs ...uint64) []byte {
	buf := append([]byte(snapMagic), snapVersion)
	buf = appendStr(buf, id)
	buf = binary.AppendUvarint(buf, size)
	buf = binary.AppendUvarint(buf, nruns)
	for _, v := range pairs {
		buf = binary.AppendUvarint(buf, v)
	}
	return snapshotSeal(buf)
}

// TestRestoreHostile feeds a /64 (sparse) and a /24 (dense) blobs that pass the
// checksum but lie: each must fail with ErrCorruptSnapshot, fast and without the
// memory the lie would cost.
func TestRestoreHostile(t *testing.T) {
	const v6 = "fd00::/64"
	max := ^uint64(0)
	tests := []struct {
		name   string
		prefix string
		blob   []byte
	}{
		{"billions of runs", v6, rangeBlob(v6, max, 1<<40, 0, 1)},
		{"run count beyond the blob", v6, rangeBlob(v6, max, 3, 0, 1, 5, 1)},
		{"run longer than the range", v6, rangeBlob(v6, max, 1, 5, max)},
		{"run past the end", v6, rangeBlob(v6, max, 2, 0, 1, max-1, 2)},
		{"run above the sparse limit", v6, rangeBlob(v6, max, 1, 0, maxSparseUsed+1)},
		{"runs summing above the sparse limit", v6, rangeBlob(v6, max, 2, 0, maxSparseUsed/2+1, 1, maxSparseUsed/2)},
		{"gap wraps around", v6, rangeBlob(v6, max, 2, 10, 1, max-5, 1)},
		{"adjacent runs not merged", v6, rangeBlob(v6, max, 2, 0, 1, 0, 1)},
		{"empty run", v6, rangeBlob(v6, max, 1, 0, 0)},
		{"dense run longer than the range", "10.0.0.0/24", rangeBlob("10.0.0.0/24", 254, 1, 1, 254)},
		{"dense billions of runs", "10.0.0.0/24", rangeBlob("10.0.0.0/24", 254, 1<<40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := NewIPRange(netip.MustParsePrefix(tt.prefix), Config{})
			_, _ = r.AllocateNext()
			before := r.Snapshot()
			var err error
			n := allocBytes(func() { err = r.Restore(tt.blob) })
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Errorf("Restore(%s) = %v; want ErrCorruptSnapshot", tt.name, err)
			}
			// Rejected before building anything: a few error values, not the claim.
			if n > 16<<10 {
				t.Errorf("Restore(%s) allocated %d bytes; want the claim rejected before any building", tt.name, n)
			}
			if !bytes.Equal(r.Snapshot(), before) {
				t.Errorf("failed Restore(%s) changed the allocator", tt.name)
			}
		})
	}
	// A legitimate long run at the limit's scale restores quickly and exactly.
	r, _ := NewIPRange(netip.MustParsePrefix(v6), Config{})
	if err := r.Restore(rangeBlob(v6, max, 1, 1000, 1<<20)); err != nil || r.Used() != 1<<20 {
		t.Fatalf("Restore(run of 2^20) = %v, Used %d; want nil, %d", err, r.Used(), 1<<20)
	}
	if !r.Has(netip.MustParseAddr("fd00::3e9")) || r.Has(netip.MustParseAddr("fd00::3e8")) || !r.Has(addrAdd(netip.MustParseAddr("fd00::3e9"), 1<<20-1)) {
		t.Errorf("restored run has the wrong ends")
	}
}

// allocBytes reports the bytes f allocates on the heap.
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestSparseLimit holds a live sparse range to the same limit Restore enforces, so
// that every snapshot it takes restores.
func TestSparseLimit(t *testing.T) {
	r, _ := NewIPRange(netip.MustParsePrefix("fd00::/64"), Config{Strategy: LowestFree})
	if r.c.limit != maxSparseUsed {
		t.Fatalf("limit of a /64 = %d; want %d", r.c.limit, maxSparseUsed)
	}
	r.c.limit = 3 // a small limit stands in for 2^26 allocations
	for range 3 {
		if _, err := r.AllocateNext(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.AllocateNext(); !errors.Is(err, ErrFull) {
		t.Errorf("AllocateNext at the limit = %v; want ErrFull", err)
	}
	if err := r.Allocate(netip.MustParseAddr("fd00::ffff")); !errors.Is(err, ErrFull) {
		t.Errorf("Allocate at the limit = %v; want ErrFull", err)
	}
	if err := r.Allocate(netip.MustParseAddr("fd00::101")); !errors.Is(err, ErrAllocated) {
		t.Errorf("Allocate(held) at the limit = %v; want ErrAllocated", err)
	}
	snap := r.Snapshot()
	if err := r.Restore(snap); err != nil {
		t.Errorf("Restore(own snapshot at the limit) = %v", err)
	}
	r4, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/8"), Config{})
	if r4.c.limit != r4.Size() {
		t.Errorf("dense limit = %d; want Size %d", r4.c.limit, r4.Size())
	}
}

// TestRestoreResetsLeaks: strikes counted before a Restore belong to a state that is
// gone; the restored allocation starts from zero strikes.
func TestRestoreResetsLeaks(t *testing.T) {
	r, _ := NewPortRange("30000-30100", Config{})
	_ = r.Allocate(30010)
	snap := r.Snapshot()
	r.Repair(nil)
	r.Repair(nil) // two strikes on 30010
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if rep := r.Repair(nil); len(rep.Freed) != 0 || !slices.Equal(rep.Leaked, []uint16{30010}) {
		t.Errorf("first repair after Restore: Leaked %v, Freed %v; want [30010], none", rep.Leaked, rep.Freed)
	}
	r.Repair(nil)
	if rep := r.Repair(nil); !slices.Equal(rep.Freed, []uint16{30010}) {
		t.Errorf("third repair after Restore: Freed %v; want [30010]", rep.Freed)
	}
}
