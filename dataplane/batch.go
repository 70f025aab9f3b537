package dataplane

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Sizes of the netlink framing the batch encoder writes.
const (
	nlmsgHdrLen = 16 // struct nlmsghdr
	nfgenLen    = 4  // struct nfgenmsg
	nlaHdrLen   = 4  // struct nlattr
	// elemListMax bounds one message's element list: its nested
	// attribute's length is 16 bits, and a list closed past this still
	// fits with its last element (at most a few hundred bytes).
	elemListMax = 60 << 10
)

// batch is one nf_tables transaction encoded as the kernel reads it:
// BATCH_BEGIN, the messages, BATCH_END, in one buffer sent with one
// sendmsg, which the kernel commits whole or not at all. Set elements,
// almost all of a full sync's bytes, are written straight from the state
// into buf; building google/nftables' SetElement values and attribute
// slices for them first was most of a full sync's garbage. The other
// messages (tables, chains, rules, sets) are few: google/nftables encodes
// them and they are copied in (see appendMessages).
//
// Message i (from 0, BATCH_BEGIN) has sequence number i+1, so that a
// kernel error names its message by index. A batch is reused from sync to
// sync; it is not safe for concurrent use.
type batch struct {
	buf  []byte
	offs []int // where each message starts in buf, by sequence number - 1

	// mapped is the off-heap memory buf was moved to for a large batch
	// (see grow), unmapped by trim; heap is buf's own buffer meanwhile.
	mapped, heap []byte

	// The open element message, if list >= 0: its list attribute's
	// offset, and what a follow-on message of the same run repeats.
	list       int
	family     byte
	table, set string
	typ        uint16
	kind       elemKind
}

// elemKind is how a set's elements are encoded.
type elemKind uint8

const (
	elemPlain       elemKind = iota // key only
	elemMap                         // key and data value
	elemVerdict                     // key and verdict
	elemConcatRange                 // key and last key of the range (KEY_END)
	elemRange                       // key, then an interval-end element one past the range
)

func kindOf(s *set) elemKind {
	switch {
	case s.verdictMap():
		return elemVerdict
	case !s.interval && len(s.dataTypes) > 0:
		return elemMap
	case !s.interval:
		return elemPlain
	case len(s.keyTypes) > 1:
		return elemConcatRange
	}
	return elemRange
}

// reset empties b and opens the batch.
func (b *batch) reset() {
	b.buf, b.offs, b.list = b.buf[:0], b.offs[:0], -1
	b.control(unix.NFNL_MSG_BATCH_BEGIN)
}

// control writes BATCH_BEGIN or BATCH_END, whose resource id names the
// nf_tables subsystem the batch is for.
func (b *batch) control(typ uint16) {
	b.header(typ, unix.NLM_F_REQUEST)
	b.buf = append(b.buf, unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, unix.NFNL_SUBSYS_NFTABLES)
	b.close()
}

// messages is the number of messages between BATCH_BEGIN and BATCH_END.
func (b *batch) messages() int {
	return len(b.offs) - 1
}

// finish closes the batch, asking for an acknowledgement of its last
// message only: the kernel handles a batch inside the sendmsg, reports
// every failing message whether asked or not, and acknowledges the last
// one after all the others, so that one ack and no error means the batch
// was committed. It reports whether there is anything to send.
func (b *batch) finish() bool {
	b.endElems()
	if b.messages() == 0 {
		return false
	}
	last := b.offs[len(b.offs)-1]
	flags := binary.NativeEndian.Uint16(b.buf[last+6:])
	binary.NativeEndian.PutUint16(b.buf[last+6:], flags|unix.NLM_F_ACK)
	b.control(unix.NFNL_MSG_BATCH_END)
	return true
}

// lastSeq is the sequence number of the last message before BATCH_END.
func (b *batch) lastSeq() uint32 {
	return uint32(len(b.offs) - 1)
}

// header starts a message; close sets its length.
func (b *batch) header(typ, flags uint16) {
	b.offs = append(b.offs, len(b.buf))
	b.buf = binary.NativeEndian.AppendUint32(b.buf, 0)
	b.buf = binary.NativeEndian.AppendUint16(b.buf, typ)
	b.buf = binary.NativeEndian.AppendUint16(b.buf, flags)
	b.buf = binary.NativeEndian.AppendUint32(b.buf, uint32(len(b.offs)))
	b.buf = binary.NativeEndian.AppendUint32(b.buf, 0)
}

func (b *batch) close() {
	off := b.offs[len(b.offs)-1]
	binary.NativeEndian.PutUint32(b.buf[off:], uint32(len(b.buf)-off))
}

// appendMessages copies messages that google/nftables encoded, leaving
// out its own batch framing and its requests for acknowledgements.
func (b *batch) appendMessages(msgs []netlink.Message) {
	b.endElems()
	for _, m := range msgs {
		if t := m.Header.Type; t == unix.NFNL_MSG_BATCH_BEGIN || t == unix.NFNL_MSG_BATCH_END {
			continue
		}
		b.header(uint16(m.Header.Type), uint16(m.Header.Flags&^netlink.Acknowledge))
		b.buf = append(b.buf, m.Data...)
		b.pad()
		b.close()
	}
}

func (b *batch) pad() {
	for len(b.buf)%4 != 0 {
		b.buf = append(b.buf, 0)
	}
}

func (b *batch) attr(typ uint16, data string) {
	b.attrHeader(typ, len(data))
	b.buf = append(b.buf, data...)
	b.pad()
}

func (b *batch) attrString(typ uint16, s string) {
	b.attrHeader(typ, len(s)+1)
	b.buf = append(b.buf, s...)
	b.buf = append(b.buf, 0)
	b.pad()
}

func (b *batch) attrBE32(typ uint16, v uint32) {
	b.attrHeader(typ, 4)
	b.buf = binary.BigEndian.AppendUint32(b.buf, v)
}

func (b *batch) attrHeader(typ uint16, n int) {
	b.buf = binary.NativeEndian.AppendUint16(b.buf, uint16(nlaHdrLen+n))
	b.buf = binary.NativeEndian.AppendUint16(b.buf, typ)
}

// nest opens a nested attribute; unnest sets its length.
func (b *batch) nest(typ uint16) int {
	off := len(b.buf)
	b.attrHeader(typ|unix.NLA_F_NESTED, 0)
	return off
}

func (b *batch) unnest(off int) {
	binary.NativeEndian.PutUint16(b.buf[off:], uint16(len(b.buf)-off))
}

// value writes a nested attribute holding one NFTA_DATA_VALUE.
func (b *batch) value(typ uint16, v string) {
	n := b.nest(typ)
	b.attr(unix.NFTA_DATA_VALUE, v)
	b.unnest(n)
}

// startElems opens a run of messages adding (or deleting) elements of
// set s, named name, in table of family; elem adds to it and endElems, or
// any other message, closes it.
func (b *batch) startElems(family byte, table, name string, s *set, add bool) {
	b.endElems()
	b.family, b.table, b.set, b.kind = family, table, name, kindOf(s)
	b.typ = unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_DELSETELEM
	if add {
		b.typ = unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSETELEM
	}
	b.openElems()
}

func (b *batch) openElems() {
	flags := uint16(unix.NLM_F_REQUEST)
	if b.typ&0xff == unix.NFT_MSG_NEWSETELEM {
		flags |= unix.NLM_F_CREATE
	}
	b.header(b.typ, flags)
	b.buf = append(b.buf, b.family, unix.NFNETLINK_V0, 0, 0)
	b.attrString(unix.NFTA_SET_ELEM_LIST_TABLE, b.table)
	b.attrString(unix.NFTA_SET_ELEM_LIST_SET, b.set)
	b.list = b.nest(unix.NFTA_SET_ELEM_LIST_ELEMENTS)
}

func (b *batch) endElems() {
	if b.list < 0 {
		return
	}
	b.unnest(b.list)
	b.close()
	b.list = -1
}

// elem writes one element of the open run, starting another message of
// the run when this one's list is full. A range of a plain interval set
// takes a second element, flagged as an interval end, one past the range
// (none when the range runs to the end of the address space). The keyed
// kinds, almost every element of a full sync, are written in one stretch
// whose size is known up front: an append per header was most of the
// encoder's time.
func (b *batch) elem(e elem) {
	if len(b.buf)-b.list > elemListMax {
		b.endElems()
		b.openElems()
	}
	k, d := e.key(), e.data()
	switch b.kind {
	case elemPlain:
		p := b.extend(nlaHdrLen + valueLen(k))
		putAttrHeader(p, len(p), unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED)
		putValue(p[nlaHdrLen:], unix.NFTA_SET_ELEM_KEY, k)
		return
	case elemMap, elemConcatRange:
		typ := uint16(unix.NFTA_SET_ELEM_DATA)
		if b.kind == elemConcatRange {
			typ = nftables.NFTA_SET_ELEM_KEY_END
		}
		p := b.extend(nlaHdrLen + valueLen(k) + valueLen(d))
		putAttrHeader(p, len(p), unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED)
		putValue(p[nlaHdrLen+putValue(p[nlaHdrLen:], unix.NFTA_SET_ELEM_KEY, k):], typ, d)
		return
	case elemVerdict:
		b.verdictElem(k, d)
		return
	}
	n := b.nest(unix.NFTA_LIST_ELEM)
	b.value(unix.NFTA_SET_ELEM_KEY, k)
	b.unnest(n)
	b.rangeEnd(d)
}

// verdictElem writes a verdict map's element of key k and verdict text:
// what value and verdict append, in one stretch.
func (b *batch) verdictElem(k, text string) {
	v := parseVerdict(text)
	chain := 0
	if v.Chain != "" {
		chain = nlaHdrLen + (len(v.Chain)+1+3)&^3
	}
	data := 2*nlaHdrLen + nlaHdrLen + 4 + chain // DATA, VERDICT, the code, the chain
	p := b.extend(nlaHdrLen + valueLen(k) + data)
	putAttrHeader(p, len(p), unix.NFTA_LIST_ELEM|unix.NLA_F_NESTED)
	p = p[nlaHdrLen+putValue(p[nlaHdrLen:], unix.NFTA_SET_ELEM_KEY, k):]
	putAttrHeader(p, data, unix.NFTA_SET_ELEM_DATA|unix.NLA_F_NESTED)
	putAttrHeader(p[4:], data-nlaHdrLen, unix.NFTA_DATA_VERDICT|unix.NLA_F_NESTED)
	putAttrHeader(p[8:], nlaHdrLen+4, unix.NFTA_VERDICT_CODE)
	binary.BigEndian.PutUint32(p[12:], uint32(v.Kind))
	if chain > 0 {
		clear(p[16+chain-4 : 16+chain])
		putAttrHeader(p[16:], nlaHdrLen+len(v.Chain)+1, unix.NFTA_VERDICT_CHAIN)
		copy(p[20:], v.Chain) // and its terminating zero, cleared above
	}
}

// rangeEnd writes the interval-end element one past last, the last key of
// a range, unless the range runs to the end of the address space.
func (b *batch) rangeEnd(last string) {
	n := b.nest(unix.NFTA_LIST_ELEM)
	b.attrBE32(unix.NFTA_SET_ELEM_FLAGS, unix.NFT_SET_ELEM_INTERVAL_END)
	k := b.nest(unix.NFTA_SET_ELEM_KEY)
	b.attrHeader(unix.NFTA_DATA_VALUE, len(last))
	end := len(b.buf)
	b.buf = append(b.buf, last...)
	if !incrementInPlace(b.buf[end:]) {
		b.buf = b.buf[:n]
		return
	}
	b.pad()
	b.unnest(k)
	b.unnest(n)
}

// extend lengthens buf by n bytes and returns them, to be written whole.
func (b *batch) extend(n int) []byte {
	l := len(b.buf)
	b.buf = slices.Grow(b.buf, n)[:l+n]
	return b.buf[l:]
}

// valueLen is the size of a nested attribute holding one NFTA_DATA_VALUE
// of v, padded.
func valueLen(v string) int {
	return 2*nlaHdrLen + (len(v)+3)&^3
}

// putValue writes what value appends into p, which it fills for
// valueLen(v) bytes, padding zeroed; it returns that size.
func putValue(p []byte, typ uint16, v string) int {
	n := valueLen(v)
	clear(p[n-4 : n]) // the padding, if any, is in the last four bytes
	putAttrHeader(p, n, typ|unix.NLA_F_NESTED)
	putAttrHeader(p[nlaHdrLen:], nlaHdrLen+len(v), unix.NFTA_DATA_VALUE)
	copy(p[2*nlaHdrLen:], v)
	return n
}

func putAttrHeader(p []byte, n int, typ uint16) {
	binary.NativeEndian.PutUint16(p, uint16(n))
	binary.NativeEndian.PutUint16(p[2:], typ)
}

// incrementInPlace adds one to the big-endian number in p and reports
// false on overflow.
func incrementInPlace(p []byte) bool {
	for i := len(p) - 1; i >= 0; i-- {
		p[i]++
		if p[i] != 0 {
			return true
		}
	}
	return false
}

// msgNames says what a message of the batch asked for, in errors.
var msgNames = map[int]string{
	unix.NFT_MSG_NEWTABLE:   "add table",
	unix.NFT_MSG_DELTABLE:   "delete table",
	unix.NFT_MSG_NEWCHAIN:   "add chain",
	unix.NFT_MSG_DELCHAIN:   "delete chain",
	unix.NFT_MSG_NEWRULE:    "add rule to chain",
	unix.NFT_MSG_DELRULE:    "delete rule of chain",
	unix.NFT_MSG_NEWSET:     "add set",
	unix.NFT_MSG_DELSET:     "delete set",
	unix.NFT_MSG_NEWSETELEM: "add elements to set",
	unix.NFT_MSG_DELSETELEM: "delete elements of set",
}

// describe names the message with sequence number seq, for an error: what
// it asked for and the object (attribute 2 of every nf_tables object
// message: the chain, set or element list's set name; the table's own
// name is attribute 1).
func (b *batch) describe(seq uint32) string {
	if seq == 0 || int(seq) > len(b.offs) {
		return fmt.Sprintf("message %d", seq)
	}
	if seq == 1 {
		return "commit"
	}
	off := b.offs[seq-1]
	m := b.buf[off : off+int(binary.NativeEndian.Uint32(b.buf[off:]))]
	typ := int(binary.NativeEndian.Uint16(m[4:]) & 0xff)
	what, ok := msgNames[typ]
	if !ok {
		return fmt.Sprintf("message %d (type %d)", seq, typ)
	}
	want := uint16(2)
	if typ == unix.NFT_MSG_NEWTABLE || typ == unix.NFT_MSG_DELTABLE {
		want = 1
	}
	ad, err := netlink.NewAttributeDecoder(m[nlmsgHdrLen+nfgenLen:])
	if err != nil {
		return what
	}
	for ad.Next() {
		if ad.Type() == want {
			return fmt.Sprintf("%s %q", what, strings.TrimRight(ad.String(), "\x00"))
		}
	}
	return what
}

// offHeap is the size above which grow builds a batch off the Go heap,
// and the largest heap buffer a batch keeps between syncs (an Update's
// batch is a few kilobytes).
const offHeap = 4 << 20

// trim gives back the memory of a large batch once it is sent.
func (b *batch) trim() {
	if b.mapped != nil {
		b.buf = b.heap // nothing refers to the mapping past this point
		_ = unix.Munmap(b.mapped)
		b.mapped, b.heap = nil, nil
	}
	if cap(b.buf) > offHeap {
		b.buf = nil
	}
}

// grow makes room for n more bytes at once: growing a buffer of tens of
// megabytes by appending copies it a dozen times, which a fresh process
// pays in page faults.
//
// A batch larger than offHeap (a full sync: 10 MB at 10,000 service ports
// × 10 endpoints) is built in anonymous memory mapped for it and unmapped
// once it is sent. On the Go heap it would be live during the sync, when
// a node's heap peaks, and Go's default GC lets the heap grow to twice
// what is live: the buffer would cost a node twice its size in RSS, and
// keep costing it between syncs. Should n fall short, append moves buf
// back to the heap and only the speed suffers. The mapping's pages cost
// only once written, so n may be an estimate from above.
func (b *batch) grow(n int) {
	if n <= offHeap || b.mapped != nil {
		b.buf = slices.Grow(b.buf, n)
		return
	}
	m, err := unix.Mmap(-1, 0, len(b.buf)+n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		b.buf = slices.Grow(b.buf, n) // the heap serves as well, at a cost in memory
		return
	}
	_ = unix.Madvise(m, unix.MADV_HUGEPAGE)
	b.heap, b.mapped = b.buf[:0], m
	b.buf = append(m[:0], b.buf...)
}

// elemsMax is the most bytes the element messages of set s, named set,
// take for n elements whose keys and data, with a run's two length bytes
// each, add up to size: each element's attribute headers and padding (see
// elemOver), and one message header per full list. The bound is tight so
// that the parts a full sync is written in leave few pages between them
// that the join then writes for the first time.
func elemsMax(table, set string, s *set, n, size int) int {
	body := elemOver[kindOf(s)]*n + size
	header := nlmsgHdrLen + nfgenLen + 3*nlaHdrLen + len(table) + len(set) + 8
	return body + (body/elemListMax+1)*header
}

// elemOver is, by kind, the most bytes an element takes beyond its key
// and data, less the two its run gives each: attribute headers and up to
// three bytes of padding after each value. A verdict takes at most 3
// bytes more than its text: "goto " or "jump " gives way to a code of 4
// bytes, the chain's terminating zero and padding. A range's interval end
// is its last key plus one.
var elemOver = [...]int{
	elemPlain:       3*nlaHdrLen + 3 - 2,
	elemMap:         5*nlaHdrLen + 6 - 2,
	elemVerdict:     7*nlaHdrLen + 3 + 3 - 2,
	elemConcatRange: 5*nlaHdrLen + 6 - 2,
	elemRange:       8*nlaHdrLen + 6 - 2,
}

// part returns a batch that writes into the n bytes of buf's spare
// capacity from at on, for the element messages of one set to be
// written beside those of others and joined in later. Written past n,
// it moves to the heap, and join copies it from there.
func (b *batch) part(at, n int) batch {
	return batch{buf: b.buf[at : at : at+n], list: -1}
}

// join appends the messages of parts, each made by part with the size in
// sizes, giving them their sequence numbers in b. The parts lie past b's
// end, in order, so their bytes move down within the buffer, into pages
// mostly written already. A part that outgrew its size was moved to the
// heap, and b's end may then pass the start of the next part before that
// is joined: the parts still in the buffer are copied out first.
func (b *batch) join(parts []batch, sizes []int) {
	b.endElems()
	for i := range parts {
		if cap(parts[i].buf) != sizes[i] {
			for j := range parts {
				parts[j].buf = slices.Clone(parts[j].buf)
			}
			break
		}
	}
	for i := range parts {
		p := &parts[i]
		p.endElems()
		base := len(b.buf)
		b.buf = append(b.buf, p.buf...)
		for _, off := range p.offs {
			b.offs = append(b.offs, base+off)
			binary.NativeEndian.PutUint32(b.buf[base+off+8:], uint32(len(b.offs)))
		}
	}
}
