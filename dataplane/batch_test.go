package dataplane

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
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
// elements, in order, across as many messages as the lists' limit takes,
// in no more bytes than elemsMax, by which a full sync sizes its parts.
// Seeds: testdata/fuzz/FuzzBatchElems.
func FuzzBatchElems(f *testing.F) {
	f.Fuzz(func(t *testing.T, kind uint8, n uint16, key, data []byte, verdict string) {
		s := fuzzSets[int(kind)%len(fuzzSets)]
		key, data, verdict = key[:min(len(key), 64)], data[:min(len(data), 64)], verdict[:min(len(verdict), 200)]
		if len(key) == 0 || (kindOf(s) == elemMap && len(data) == 0) {
			t.Skip("an element has a key, and a map element data")
		}
		if kindOf(s) == elemVerdict {
			if strings.Contains(verdict, "\x00") {
				t.Skip("a chain's name is a C string: the kernel reads it up to its first zero")
			}
			data = []byte(verdict) // a verdict map element's data is its verdict's text
		}
		var in []elem
		for i := range int(n % 4096) {
			k := binary.BigEndian.AppendUint16(slices.Clone(key), uint16(i))
			in = append(in, newElem(k, data))
		}
		var b batch
		b.reset()
		start := len(b.buf)
		b.startElems(unix.NFPROTO_INET, "svcnet", "set-a", s, kind%2 == 0)
		for _, e := range in {
			b.elem(e)
		}
		b.endElems()
		if n, size := elemsSize(in); len(b.buf)-start > elemsMax("svcnet", "set-a", s, n, size) {
			t.Fatalf("%d elements took %d bytes; elemsMax = %d", n, len(b.buf)-start, elemsMax("svcnet", "set-a", s, n, size))
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
		n, size := elemsSize(es)
		b.grow(elemsMax("svcnet", "set-a", s, n, size))
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

// TestFullBatch reads back the elements of a full sync's batch, whose sets
// are written side by side and joined: every set's elements are those of
// the ruleset the state describes, in messages of that set only, and the
// batch's framing holds (sequence numbers in order, offs at each message).
// The states cover every set kind, a service's own sets, shared elements
// and sets that take several messages, in input order, after an Update
// has dropped it, and on a cold start whose maps are filled meanwhile.
func TestFullBatch(t *testing.T) {
	cases := goldenCases()
	many := append(benchServices(3000, 3)[100:], cases[len(cases)-2].svcs...) // past the affinity case's addresses
	cases = append(cases, goldenCase{"many", Options{ClusterCIDRs: cases[1].opts.ClusterCIDRs}, many})
	for _, tc := range cases {
		for _, how := range []string{"input order", "updated", "behind"} {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				st, err := newState(&tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				st.overlap = how == "behind"
				if _, refused := st.update(tc.svcs, false); refused != nil {
					t.Fatal(refusedErr(refused))
				}
				if how == "updated" && len(tc.svcs) > 0 {
					if _, refused, err := st.apply(tc.svcs[:1], nil); err != nil || refused != nil {
						t.Fatalf("apply: %v, %v", refused, err)
					}
				}
				got, stats := fullElems(t, st)
				st.settle()
				checkFullBatch(t, st, got, stats)
			})
		}
	}
}

// checkFullBatch checks got and stats, what a full sync of st wrote, against
// the ruleset st describes.
func checkFullBatch(t *testing.T, st *state, got map[string][]string, stats Stats) {
	t.Helper()
	rs := st.ruleset()
	n := 0
	for name, s := range rs.sets {
		n += len(s.elems)
		want := decodedTexts(wantElems(s, s.elems))
		slices.Sort(want)
		if !slices.Equal(got[name], want) {
			t.Errorf("set %s: %d elements in the batch; want %d\ngot  %q\nwant %q", name, len(got[name]), len(want), got[name][:min(len(got[name]), 4)], want[:min(len(want), 4)])
		}
	}
	if len(got) > len(rs.sets) {
		t.Errorf("elements for %d sets; the ruleset has %d", len(got), len(rs.sets))
	}
	if stats.ElementsAdded != n {
		t.Errorf("ElementsAdded = %d; want %d", stats.ElementsAdded, n)
	}
}

// fullElems returns the elements a full sync of st writes into each set
// as the kernel reads them, sorted (their order in a set does not
// matter), and the sync's stats. It checks the batch's framing: sequence
// numbers in order, offs at each message.
func fullElems(t testing.TB, st *state) (map[string][]string, Stats) {
	t.Helper()
	d := &Dataplane{t: &nftables.Table{Name: st.o.table(), Family: nftables.TableFamilyINet}}
	if err := d.newEncoder(); err != nil {
		t.Fatal(err)
	}
	d.b.reset()
	var stats Stats
	x := &tx{c: d.enc, b: &d.b, t: d.table(), stats: &stats}
	if err := x.full(st); err != nil {
		t.Fatal(err)
	}
	if err := x.encode(); err != nil {
		t.Fatal(err)
	}
	d.b.finish()
	defer d.b.trim()
	got := map[string][]string{}
	for i, buf := 0, d.b.buf; len(buf) > 0; i++ {
		l := int(binary.NativeEndian.Uint32(buf))
		var m netlink.Message
		if err := m.UnmarshalBinary(buf[:l]); err != nil {
			t.Fatal(err)
		}
		if m.Header.Sequence != uint32(i+1) || d.b.offs[i] != len(d.b.buf)-len(buf) {
			t.Fatalf("message %d: sequence %d at %d; want %d at %d", i, m.Header.Sequence, len(d.b.buf)-len(buf), i+1, d.b.offs[i])
		}
		buf = buf[l:]
		if m.Header.Type != unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWSETELEM {
			continue
		}
		dm, err := decodeElemMsg(m)
		if err != nil {
			t.Fatal(err)
		}
		got[dm.set] = append(got[dm.set], decodedTexts(dm.elems)...)
	}
	for _, es := range got {
		slices.Sort(es)
	}
	return got, stats
}

func decodedTexts(es []decodedElem) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%+v", e)
	}
	return out
}

// A part of a batch that outgrows the size it was given moves to the heap
// and is joined from there, and the parts after it are not overwritten.
func TestBatchJoinOutgrown(t *testing.T) {
	s := fuzzSets[1] // a map: key and data
	var b batch
	b.reset()
	sizes := []int{200, 5000, 200} // the first and the last too small
	b.grow(1 << 16)
	parts := make([]batch, len(sizes))
	var want [][]elem
	for i, at := 0, len(b.buf); i < len(parts); i++ {
		parts[i] = b.part(at, sizes[i])
		at += sizes[i]
		parts[i].startElems(unix.NFPROTO_INET, "svcnet", fmt.Sprintf("set-%d", i), s, true)
		var es []elem
		for j := range 40 {
			es = append(es, newElem([]byte{byte(i), 0, 0, byte(j)}, []byte{0x1f, byte(j)}))
			parts[i].elem(es[j])
		}
		want = append(want, es)
	}
	b.join(parts, sizes)
	if !b.finish() {
		t.Fatal("finish found nothing to send")
	}
	msgs, err := decodeBatch(b.buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != len(parts) {
		t.Fatalf("%d messages; want %d", len(msgs), len(parts))
	}
	for i, m := range msgs {
		if w := wantElems(s, want[i]); m.set != fmt.Sprintf("set-%d", i) || len(m.elems) != len(w) ||
			!sameDecoded(m.elems[0], w[0]) || !sameDecoded(m.elems[len(w)-1], w[len(w)-1]) {
			t.Errorf("message %d: set %s, %d elements; want set-%d, %d, first and last equal", i, m.set, len(m.elems), i, len(w))
		}
	}
}
