package allocator

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// Services snapshot layout (integers uvarint, strings and addresses length-prefixed):
//
//	"SVCS" | version byte | configuration identity | nrecords | record… | crc32c (4 bytes LE)
//	record: key | type | flags (1 headless, 2 released) | [released: varint Unix nanoseconds] |
//	        nfamilies | family… | nclusterIPs | address… | nports | (name, protocol, port, nodePort)… |
//	        healthCheckNodePort | nLBIPs | address… | sharing key | backend key
//
// Records are sorted by key. The records are the only truth: the ClusterIP, node port
// and LoadBalancer allocators are rebuilt from them, so an allocator can never
// disagree with the services that hold its values. The checksum covers every byte
// before it.
const (
	svcSnapMagic   = "SVCS"
	svcSnapVersion = 1
)

const (
	flagHeadless = 1 << iota
	flagReleased
)

// Snapshot returns every service's allocation, released ones within their grace
// period included (with their release time), in the versioned, checksummed format
// above. Restore on a Services built from the same configuration accepts it.
func (s *Services) Snapshot() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.Sorted(maps.Keys(s.recs))
	buf := append([]byte(svcSnapMagic), svcSnapVersion)
	buf = appendStr(buf, s.id)
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		buf = appendStr(buf, k)
		buf = s.recs[k].appendTo(buf)
	}
	return snapshotSeal(buf)
}

func (r *svcRecord) appendTo(buf []byte) []byte {
	var flags uint64
	if r.headless {
		flags |= flagHeadless
	}
	if !r.released.IsZero() {
		flags |= flagReleased
	}
	buf = binary.AppendUvarint(buf, uint64(r.typ))
	buf = binary.AppendUvarint(buf, flags)
	if !r.released.IsZero() {
		buf = binary.AppendVarint(buf, r.released.UnixNano())
	}
	buf = binary.AppendUvarint(buf, uint64(len(r.fams)))
	for _, f := range r.fams {
		buf = binary.AppendUvarint(buf, uint64(f))
	}
	buf = appendAddrs(buf, r.clusterIPs)
	buf = binary.AppendUvarint(buf, uint64(len(r.ports)))
	for _, p := range r.ports {
		buf = appendStr(buf, p.Name)
		buf = binary.AppendUvarint(buf, uint64(p.Protocol))
		buf = binary.AppendUvarint(buf, uint64(p.Port))
		buf = binary.AppendUvarint(buf, uint64(p.NodePort))
	}
	buf = binary.AppendUvarint(buf, uint64(r.hcnp))
	buf = appendAddrs(buf, r.lbIPs)
	buf = appendStr(buf, r.sharingKey)
	return appendStr(buf, r.backendKey)
}

func appendAddrs(buf []byte, as []netip.Addr) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(as)))
	for _, a := range as {
		buf = binary.AppendUvarint(buf, uint64(a.BitLen()/8))
		buf = append(buf, a.AsSlice()...)
	}
	return buf
}

// Restore replaces every service's allocation with blob, checked whole before
// anything changes: the checksum over all of it, the configuration it was taken
// under (ErrMismatchedRange), every record's own consistency, every ClusterIP and
// node port inside its range, LoadBalancer addresses inside the pools and shared only
// by MetalLB's rules, and no value claimed by two services. A damaged state is
// refused with ErrCorruptSnapshot naming the record — never repaired by guessing, so
// it can never yield a duplicate; ErrUnknownVersion for a format it does not know.
// On error nothing changes. Restoring allocates no more than a constant times
// len(blob).
func (s *Services) Restore(blob []byte) error {
	recs, err := s.decode(blob)
	if err != nil {
		return err
	}
	if err := checkUnique(recs); err != nil {
		return err
	}
	var lbs []lbHolding
	if s.lb != nil {
		lbs = lbHoldings(recs)
		if err := s.lb.checkHoldings(lbs); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.ips {
		if r != nil {
			r.c.reset(func(set func(uint64)) {
				for _, d := range recs {
					for _, a := range d.rec.clusterIPs {
						if o, ok := r.offset(a); ok && IPFamilyOf(a).index() == i {
							set(o)
						}
					}
				}
			})
		}
	}
	s.ports.c.reset(func(set func(uint64)) {
		for _, d := range recs {
			for _, p := range d.rec.nodePorts() {
				o, _ := s.ports.offset(p) // checked in range
				set(o)
			}
		}
	})
	if s.lb != nil {
		s.lb.replace(lbs)
	}
	s.recs = make(map[string]*svcRecord, len(recs))
	for _, d := range recs {
		s.recs[d.key] = d.rec
	}
	s.gen++
	return nil
}

type keyedRecord struct {
	key string
	rec *svcRecord
}

// decode reads and checks every record of blob without touching s.
func (s *Services) decode(blob []byte) ([]keyedRecord, error) {
	r, err := openSnapshot(blob, svcSnapMagic, svcSnapVersion)
	if err != nil {
		return nil, err
	}
	id, err := r.str()
	if err != nil {
		return nil, err
	}
	if id != s.id {
		return nil, fmt.Errorf("%w: snapshot %q, services %q", ErrMismatchedRange, id, s.id)
	}
	n, err := r.count(14) // the shortest record: a key and thirteen one-byte fields
	if err != nil {
		return nil, err
	}
	recs := make([]keyedRecord, 0, n)
	for range n {
		key, err := r.str()
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 && key <= recs[len(recs)-1].key {
			return nil, fmt.Errorf("%w: service %q out of order", ErrCorruptSnapshot, key)
		}
		rec, err := readRecord(r)
		if err == nil {
			err = s.checkRecord(rec)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: service %q: %v", ErrCorruptSnapshot, key, err)
		}
		recs = append(recs, keyedRecord{key, rec})
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return recs, nil
}

// readRecord reads one record's fields; checkRecord judges them.
func readRecord(r *snapReader) (*svcRecord, error) {
	rec := &svcRecord{}
	typ, err1 := r.uvarint()
	flags, err2 := r.uvarint()
	if err := firstErr(err1, err2); err != nil {
		return nil, err
	}
	if typ > uint64(ExternalName) || flags > flagHeadless|flagReleased {
		return nil, fmt.Errorf("bad type %d or flags %d", typ, flags)
	}
	rec.typ, rec.headless = ServiceType(typ), flags&flagHeadless != 0
	if flags&flagReleased != 0 {
		ns, n := binary.Varint(r.b)
		if n <= 0 {
			return nil, fmt.Errorf("bad release time")
		}
		r.b = r.b[n:]
		rec.released = time.Unix(0, ns).UTC()
	}
	nf, err := r.count(1)
	if err != nil {
		return nil, err
	}
	for range nf {
		f, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		rec.fams = append(rec.fams, IPFamily(min(f, 255)))
	}
	if rec.clusterIPs, err = readAddrs(r); err != nil {
		return nil, err
	}
	if rec.ports, err = readServicePorts(r); err != nil {
		return nil, err
	}
	hc, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	if hc > 0xffff {
		return nil, fmt.Errorf("bad health-check node port %d", hc)
	}
	rec.hcnp = uint16(hc)
	if rec.lbIPs, err = readAddrs(r); err != nil {
		return nil, err
	}
	rec.sharingKey, err1 = r.str()
	rec.backendKey, err2 = r.str()
	return rec, firstErr(err1, err2)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func readAddrs(r *snapReader) ([]netip.Addr, error) {
	n, err := r.count(5) // the shortest address: a length and four bytes
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for range n {
		b, err := r.bytes()
		if err != nil {
			return nil, err
		}
		a, ok := netip.AddrFromSlice(b)
		if !ok || a.Is4In6() {
			return nil, fmt.Errorf("bad address")
		}
		out = append(out, a)
	}
	return out, nil
}

func readServicePorts(r *snapReader) ([]ServicePort, error) {
	n, err := r.count(4)
	if err != nil {
		return nil, err
	}
	var out []ServicePort
	for range n {
		name, err := r.str()
		if err != nil {
			return nil, err
		}
		var v [3]uint64
		for i := range v {
			if v[i], err = r.uvarint(); err != nil {
				return nil, err
			}
		}
		if v[0] > uint64(SCTP) || v[1] > 0xffff || v[2] > 0xffff {
			return nil, fmt.Errorf("bad port %q", name)
		}
		out = append(out, ServicePort{Name: name, Protocol: Protocol(v[0]), Port: uint16(v[1]), NodePort: uint16(v[2])})
	}
	return out, nil
}
