package allocator

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
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
	f.Fuzz(func(t *testing.T, blob []byte) {
		b, _ := NewIPRange(netip.MustParsePrefix("10.0.0.0/24"), Config{})
		_ = b.Allocate(netip.MustParseAddr("10.0.0.5"))
		before := b.Snapshot()
		if err := b.Restore(blob); err != nil {
			if !bytes.Equal(b.Snapshot(), before) {
				t.Fatal("failed Restore mutated the allocator")
			}
			return
		}
		n := uint64(0)
		for range b.All() {
			n++
		}
		if n != b.Used() || b.Used() > b.Size() {
			t.Fatalf("restored counts inconsistent: iterated %d, Used %d, Size %d", n, b.Used(), b.Size())
		}
	})
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
