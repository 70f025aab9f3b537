package dnsname

import "strings"

// nameChunk bounds the strings that hold a record set's names. The runtime
// gives a larger allocation pages of its own; in chunks of this size (the
// largest small object) a record set's names come from the small-object
// allocator, which reuses its spans.
const nameChunk = 32 << 10

// Longest forms of the names the builder writes from addresses.
const (
	maxReverseName = len("0.")*32 + len("ip6.arpa.")
	maxDashed      = len("ffff-ffff-ffff-ffff-ffff-ffff-ffff-ffff")
)

// nameBuf writes names back to back into a few large strings, so that
// thousands of names cost a few allocations: each name is a substring of
// a chunk. A strings.Builder never changes bytes once written — it appends,
// or moves on to new memory — so a name can be taken from the chunk as soon
// as it is written. Write each name between begin and end. The zero
// nameBuf is empty, ready to use.
type nameBuf struct {
	cur   strings.Builder // the chunk being written
	start int             // where the name being written starts in cur
	// left is the number of bytes still to come, or an upper bound: it
	// sizes the next chunk.
	left int
}

// begin makes room for a name of at most n bytes and returns the writer
// for it.
func (nb *nameBuf) begin(n int) *strings.Builder {
	if nb.cur.Cap()-nb.cur.Len() < n {
		// The names taken so far keep the old chunk alive.
		nb.cur = strings.Builder{}
		nb.cur.Grow(max(n, min(nb.left, nameChunk)))
	}
	nb.start = nb.cur.Len()
	return &nb.cur
}

// end returns the name written since begin.
func (nb *nameBuf) end() string {
	name := nb.cur.String()[nb.start:]
	nb.left -= len(name)
	return name
}
