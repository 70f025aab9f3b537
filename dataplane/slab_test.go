package dataplane

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestChunk: a small chunk is an ordinary slice; one of 2 MiB or more
// lies in memory advised for huge pages (the "hg" flag of its mapping in
// /proc/self/smaps), so its first writes fault whole 2 MiB pages in.
func TestChunk(t *testing.T) {
	if c := chunk[frag](100); len(c) != 100 {
		t.Errorf("chunk of 100 frags: %d", len(c))
	}
	n := 6 << 20 / int(unsafe.Sizeof(frag{}))
	c := chunk[frag](n)
	if len(c) < n {
		t.Fatalf("chunk of %d frags: %d", n, len(c))
	}
	for i := range c {
		if c[i].elems != "" || c[i].spans != nil {
			t.Fatal("chunk not zeroed")
		}
	}
	flags, ok := vmFlags(t, uintptr(unsafe.Pointer(&c[len(c)/2])))
	if !ok {
		t.Fatal("no mapping of the chunk in /proc/self/smaps")
	}
	if !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("mapping of a 6 MiB chunk has flags %q; want hg (MADV_HUGEPAGE)", flags)
	}
}

// vmFlags returns the VmFlags of the mapping of this process that holds addr.
func vmFlags(t *testing.T, addr uintptr) (string, bool) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := strings.Cut(strings.Fields(line)[0], "-"); ok && !strings.HasSuffix(line, ":") {
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				in = uint64(addr) >= start && uint64(addr) < end
				continue
			}
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}
