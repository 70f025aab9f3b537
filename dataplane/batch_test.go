package dataplane

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// decodedElem is one element as the kernel would read it from a batch.
type decodedElem struct {
	key, keyEnd, data []byte
	verdict           int32
	chain             string
	flags             uint32
}

// decodedMsg is one element message of a batch.
type decodedMsg struct {
	typ        uint16
	table, set string
	elems      []decodedElem
}

// decodeBatch reads b back with mdlayher/netlink's decoders: it checks
// the framing (BATCH_BEGIN first, BATCH_END last, sequence numbers in
// order, the ack asked of the last message only) and returns the element
// messages.
func decodeBatch(buf []byte) ([]decodedMsg, error) {
	var msgs []netlink.Message
	for len(buf) > 0 {
		if len(buf) < nlmsgHdrLen {
			return nil, fmt.Errorf("%d bytes left after the last message", len(buf))
		}
		l := int(binary.NativeEndian.Uint32(buf))
		if l < nlmsgHdrLen || l > len(buf) || l%4 != 0 {
			return nil, fmt.Errorf("message length %d of %d bytes left", l, len(buf))
		}
		var m netlink.Message
		if err := m.UnmarshalBinary(buf[:l]); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
		buf = buf[l:]
	}
	if len(msgs) < 3 || msgs[0].Header.Type != unix.NFNL_MSG_BATCH_BEGIN || msgs[len(msgs)-1].Header.Type != unix.NFNL_MSG_BATCH_END {
		return nil, fmt.Errorf("%d messages, not framed as a batch", len(msgs))
	}
	var out []decodedMsg
	for i, m := range msgs {
		if m.Header.Sequence != uint32(i+1) {
			return nil, fmt.Errorf("message %d has sequence %d", i, m.Header.Sequence)
		}
		if ack := m.Header.Flags&netlink.Acknowledge != 0; ack != (i == len(msgs)-2) {
			return nil, fmt.Errorf("message %d of %d: ack %v", i, len(msgs), ack)
		}
		if i == 0 || i == len(msgs)-1 {
			continue
		}
		dm, err := decodeElemMsg(m)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		out = append(out, dm)
	}
	return out, nil
}

func decodeElemMsg(m netlink.Message) (decodedMsg, error) {
	dm := decodedMsg{typ: uint16(m.Header.Type)}
	ad, err := netlink.NewAttributeDecoder(m.Data[nfgenLen:])
	if err != nil {
		return dm, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_SET_ELEM_LIST_TABLE:
			dm.table = ad.String()
		case unix.NFTA_SET_ELEM_LIST_SET:
			dm.set = ad.String()
		case unix.NFTA_SET_ELEM_LIST_ELEMENTS:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					var e decodedElem
					list.Nested(func(nd *netlink.AttributeDecoder) error { return decodeElem(nd, &e) })
					dm.elems = append(dm.elems, e)
				}
				return list.Err()
			})
		}
	}
	return dm, ad.Err()
}

func decodeElem(ad *netlink.AttributeDecoder, e *decodedElem) error {
	value := func(dst *[]byte) func(*netlink.AttributeDecoder) error {
		return func(nd *netlink.AttributeDecoder) error {
			for nd.Next() {
				if nd.Type() == unix.NFTA_DATA_VALUE {
					*dst = nd.Bytes()
				}
			}
			return nd.Err()
		}
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_SET_ELEM_KEY:
			ad.Nested(value(&e.key))
		case nftables.NFTA_SET_ELEM_KEY_END:
			ad.Nested(value(&e.keyEnd))
		case unix.NFTA_SET_ELEM_FLAGS:
			e.flags = binary.BigEndian.Uint32(ad.Bytes())
		case unix.NFTA_SET_ELEM_DATA:
			ad.Nested(func(nd *netlink.AttributeDecoder) error {
				for nd.Next() {
					switch nd.Type() {
					case unix.NFTA_DATA_VALUE:
						e.data = nd.Bytes()
					case unix.NFTA_DATA_VERDICT:
						nd.Nested(func(vd *netlink.AttributeDecoder) error {
							for vd.Next() {
								switch vd.Type() {
								case unix.NFTA_VERDICT_CODE:
									e.verdict = int32(binary.BigEndian.Uint32(vd.Bytes()))
								case unix.NFTA_VERDICT_CHAIN:
									e.chain = vd.String()
								}
							}
							return vd.Err()
						})
					}
				}
				return nd.Err()
			})
		}
	}
	return ad.Err()
}

// fuzzSets are the kinds of sets the encoder writes, one of each.
var fuzzSets = []*set{
	{keyTypes: []nftables.SetDatatype{nftables.TypeIPAddr}},
	{keyTypes: []nftables.SetDatatype{nftables.TypeIPAddr}, dataTypes: []nftables.SetDatatype{nftables.TypeInetService}},
	{keyTypes: []nftables.SetDatatype{nftables.TypeIPAddr}, dataTypes: []nftables.SetDatatype{nftables.TypeVerdict}},
	{keyTypes: []nftables.SetDatatype{nftables.TypeIPAddr, nftables.TypeIPAddr}, interval: true},
	{keyTypes: []nftables.SetDatatype{nftables.TypeIPAddr}, interval: true},
}

// FuzzBatchElems holds the element encoder to a round trip: n elements
// derived from key, data and verdict, written into a batch of any set
// kind, read back through mdlayher/netlink's decoders as exactly those
// elements, in order, across as many messages as the lists' limit takes.
// Seeds: testdata/fuzz/FuzzBatchElems.
func FuzzBatchElems(f *testing.F) {
	f.Fuzz(func(t *testing.T, kind uint8, n uint16, key, data []byte, verdict string) {
		s := fuzzSets[int(kind)%len(fuzzSets)]
		key, data, verdict = key[:min(len(key), 64)], data[:min(len(data), 64)], verdict[:min(len(verdict), 200)]
		if len(key) == 0 || (kindOf(s) == elemMap && len(data) == 0) {
			t.Skip("an element has a key, and a map element data")
		}
		if kindOf(s) == elemVerdict {
			data = []byte(verdict) // a verdict map element's data is its verdict's text
		}
		var in []elem
		for i := range int(n % 4096) {
			k := binary.BigEndian.AppendUint16(slices.Clone(key), uint16(i))
			in = append(in, newElem(k, data))
		}
		var b batch
		b.reset()
		b.startElems(unix.NFPROTO_INET, "svcnet", "set-a", s, kind%2 == 0)
		for _, e := range in {
			b.elem(e)
		}
		if !b.finish() {
			t.Fatal("finish found nothing to send after startElems")
		}
		msgs, err := decodeBatch(b.buf)
		if err != nil {
			t.Fatal(err)
		}
		var got []decodedElem
		for _, m := range msgs {
			if m.table != "svcnet" || m.set != "set-a" || (m.typ&0xff == unix.NFT_MSG_NEWSETELEM) != (kind%2 == 0) {
				t.Fatalf("message for %s/%s of type %#x", m.table, m.set, m.typ)
			}
			got = append(got, m.elems...)
		}
		want := wantElems(s, in)
		if len(got) != len(want) {
			t.Fatalf("%d elements decoded from %d messages; want %d", len(got), len(msgs), len(want))
		}
		for i := range want {
			if !sameDecoded(got[i], want[i]) {
				t.Fatalf("element %d = %+v; want %+v", i, got[i], want[i])
			}
		}
	})
}

// wantElems is what the kernel should read for es in a set like s.
func wantElems(s *set, es []elem) []decodedElem {
	var out []decodedElem
	for _, e := range es {
		d := decodedElem{key: []byte(e.key())}
		switch kindOf(s) {
		case elemMap:
			d.data = []byte(e.data())
		case elemVerdict:
			v := parseVerdict(e.data())
			d.verdict, d.chain = int32(v.Kind), v.Chain
		case elemConcatRange:
			d.keyEnd = []byte(e.data())
		}
		out = append(out, d)
		if kindOf(s) == elemRange {
			end := []byte(e.data())
			if incrementInPlace(end) {
				out = append(out, decodedElem{key: end, flags: unix.NFT_SET_ELEM_INTERVAL_END})
			}
		}
	}
	return out
}

func sameDecoded(a, b decodedElem) bool {
	return bytes.Equal(a.key, b.key) && bytes.Equal(a.keyEnd, b.keyEnd) && bytes.Equal(a.data, b.data) &&
		a.verdict == b.verdict && a.chain == b.chain && a.flags == b.flags
}

func TestIncrementInPlace(t *testing.T) {
	for _, c := range []struct {
		in, want []byte
		ok       bool
	}{
		{[]byte{0, 0}, []byte{0, 1}, true},
		{[]byte{0, 255}, []byte{1, 0}, true},
		{[]byte{255, 255}, []byte{0, 0}, false},
		{[]byte{}, []byte{}, false},
	} {
		got := slices.Clone(c.in)
		if ok := incrementInPlace(got); ok != c.ok || !bytes.Equal(got, c.want) {
			t.Errorf("incrementInPlace(%v) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestBatchDescribe checks that an error names the message it is about.
func TestBatchDescribe(t *testing.T) {
	var b batch
	b.reset()
	c, err := nftables.New(nftables.AsLasting(), nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		b.appendMessages(req)
		return nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	tb := &nftables.Table{Name: "svcnet", Family: nftables.TableFamilyINet}
	c.AddTable(tb)
	c.AddRule(&nftables.Rule{Table: tb, Chain: &nftables.Chain{Name: "services", Table: tb},
		Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	b.startElems(unix.NFPROTO_INET, "svcnet", "service-ips", fuzzSets[0], false)
	b.elem(newElem([]byte{10, 0, 0, 1}, nil))
	b.finish()
	for _, c := range []struct {
		seq  uint32
		want string
	}{
		{1, "commit"},
		{2, `add table "svcnet"`},
		{3, `add rule to chain "services"`},
		{4, `delete elements of set "service-ips"`},
		{9, "message 9"},
	} {
		if got := b.describe(c.seq); got != c.want {
			t.Errorf("describe(%d) = %q; want %q", c.seq, got, c.want)
		}
	}
}

// A batch larger than offHeap is built in mapped memory: it carries the
// messages written before grow and every element after it, and trim
// unmaps it and leaves a heap buffer small enough to keep for Updates.
func TestBatchOffHeap(t *testing.T) {
	s := fuzzSets[0]
	var es []elem
	for i := range 300_000 { // ≥ 48 bytes each: past offHeap
		es = append(es, newElem(binary.BigEndian.AppendUint32(nil, uint32(i)), []byte("accept")))
	}
	var b batch
	for round := range 2 { // the second reuses what trim kept
		b.reset()
		before := slices.Clone(b.buf)
		b.grow(map[string]*content{"set-a": {elems: es}})
		if b.mapped == nil {
			t.Fatalf("round %d: a batch of %d elements was not mapped off the heap", round, len(es))
		}
		if !bytes.Equal(b.buf, before) {
			t.Fatalf("round %d: grow changed the messages already written", round)
		}
		b.startElems(unix.NFPROTO_INET, "svcnet", "set-a", s, true)
		for _, e := range es {
			b.elem(e)
		}
		if !b.finish() {
			t.Fatal("finish found nothing to send")
		}
		if &b.buf[0] != &b.mapped[0] {
			t.Fatalf("round %d: the batch outgrew its estimate and went back to the heap", round)
		}
		msgs, err := decodeBatch(b.buf)
		if err != nil {
			t.Fatal(err)
		}
		var got []decodedElem
		for _, m := range msgs {
			got = append(got, m.elems...)
		}
		want := wantElems(s, es)
		if len(got) != len(want) || !sameDecoded(got[0], want[0]) || !sameDecoded(got[len(got)-1], want[len(want)-1]) {
			t.Fatalf("round %d: %d elements decoded; want %d, first and last equal", round, len(got), len(want))
		}
		b.trim()
		if b.mapped != nil || cap(b.buf) > offHeap {
			t.Fatalf("round %d: after trim mapped=%v, buf cap %d", round, b.mapped != nil, cap(b.buf))
		}
	}
}
