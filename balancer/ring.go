package balancer

type ringHash struct {
	base
	ring Ring
	bl   *bounded
}

// NewRingHash returns a ketama-style ring hash Picker over the usable
// backends, keyed by Request.Hash. It is safe for concurrent use.
func NewRingHash(bs []Backend, cfg Config) (Picker, error) {
	u, err := eligible(bs, cfg)
	if err != nil {
		return nil, err
	}
	sortByName(u)
	r, err := RingTable(u, cfg.MinRingSize, cfg.MaxRingSize, cfg.Seed)
	if err != nil {
		return nil, err
	}
	p := &ringHash{base: base{u}, ring: r}
	if p.bl, err = newBounded(cfg, len(u)); err != nil {
		return nil, err
	}
	return p, nil
}

// Ring returns the ring; its Backends index Backends(). Callers must not
// modify it.
func (p *ringHash) Ring() Ring { return p.ring }

func (p *ringHash) Pick(r *Request) (Result, error) {
	if len(p.ring.Hashes) == 0 {
		return Result{}, ErrNoBackend
	}
	j := p.ring.Lookup(r.Hash)
	if p.bl == nil {
		return Result{Backend: &p.bs[p.ring.Backends[j]]}, nil
	}
	n := len(p.ring.Backends)
	return p.pickBounded(p.bl, func(k int) uint32 { return p.ring.Backends[(j+k)%n] }, n)
}
