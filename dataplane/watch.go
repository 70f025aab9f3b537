package dataplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// monitorBuf sizes the receive buffer of Watch's event socket: a burst of
// foreign changes fits, while our own full sync of thousands of services
// may still overflow it (see Watch).
const monitorBuf = 8 << 20

// Repair describes one repair Watch made.
type Repair struct {
	// Reason says what Watch noticed.
	Reason string
	// Stats and Err are those of the full sync that repaired it.
	Stats Stats
	Err   error
}

// Watch notices changes that anyone else makes to our table — the table
// deleted, a chain flushed, elements removed, a rule added — and repairs
// each at once by replacing the whole table with what the last successful
// Sync or Update left, then calls repaired (which may be nil) with what it
// did. Other tables are never looked at beyond their events' names.
//
// It listens to the kernel's nf_tables events in the namespace: every
// change the kernel commits to our table comes with the netlink port of
// the socket that sent the batch, and a port other than ours is outside
// damage. When the event socket overflows (our own full sync of thousands
// of services sends more events than it holds), Watch compares the table's
// chains, rules and sets with what it should hold and repairs a mismatch;
// elements removed by someone else during such an overflow go unnoticed
// until the next change to their service port.
//
// Watch blocks until ctx is done, and returns ctx's error, or a netlink
// error; run it in a goroutine of your own. It needs no lock of the caller
// and may run alongside Sync and Update; before the first successful Sync
// there is nothing to repair and events are ignored.
func (d *Dataplane) Watch(ctx context.Context, repaired func(Repair)) error {
	mon, err := d.monitor()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = mon.Close() })
	defer func() {
		if stop() {
			_ = mon.Close()
		}
	}()
	foreign := ""
	for {
		msgs, err := mon.Receive()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, unix.ENOBUFS):
			if why := d.verify(); why != "" {
				d.repair(why, repaired)
			}
			foreign = ""
			continue
		case err != nil:
			return fmt.Errorf("watch table %q: %w", d.opts.table(), err)
		}
		for _, m := range msgs {
			if why := d.foreignEvent(m); why != "" && foreign == "" {
				foreign = why
			}
			// The batch's events end with its new generation.
			if m.Header.Type == nftType(unix.NFT_MSG_NEWGEN) && foreign != "" {
				d.repair(foreign, repaired)
				foreign = ""
			}
		}
	}
}

// monitor opens a netlink socket in our namespace subscribed to nf_tables
// events.
func (d *Dataplane) monitor() (*netlink.Conn, error) {
	d.mu.Lock()
	ns, closed := int(d.ns), d.closed
	d.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	cfg := &netlink.Config{}
	if ns >= 0 {
		cfg.NetNS = ns
	}
	mon, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, d.privileged(fmt.Errorf("netlink monitor: %w", err))
	}
	if err := mon.SetReadBuffer(monitorBuf); err != nil {
		_ = mon.Close()
		return nil, err
	}
	if err := mon.JoinGroup(unix.NFNLGRP_NFTABLES); err != nil {
		_ = mon.Close()
		return nil, fmt.Errorf("netlink monitor: join nf_tables events: %w", err)
	}
	return mon, nil
}

func nftType(msg int) netlink.HeaderType {
	return netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | msg)
}

// eventNames says what an event that touched our table did.
var eventNames = map[int]string{
	unix.NFT_MSG_DELTABLE:   "table deleted",
	unix.NFT_MSG_NEWCHAIN:   "chain added or changed",
	unix.NFT_MSG_DELCHAIN:   "chain deleted",
	unix.NFT_MSG_NEWRULE:    "rule added",
	unix.NFT_MSG_DELRULE:    "rule deleted",
	unix.NFT_MSG_NEWSET:     "set added",
	unix.NFT_MSG_DELSET:     "set deleted",
	unix.NFT_MSG_NEWSETELEM: "element added",
	unix.NFT_MSG_DELSETELEM: "element deleted",
	unix.NFT_MSG_NEWTABLE:   "table changed",
}

// foreignEvent returns what m did to our table when someone else sent the
// batch it belongs to, else "". Every nf_tables object message carries
// its table's name as attribute 1, after the 4-byte nfgenmsg header whose
// first byte is the family.
func (d *Dataplane) foreignEvent(m netlink.Message) string {
	if m.Header.Type>>8 != unix.NFNL_SUBSYS_NFTABLES || len(m.Data) < 4 || m.Data[0] != unix.NFPROTO_INET {
		return ""
	}
	what, ok := eventNames[int(m.Header.Type&0xff)]
	if !ok || m.Header.PID == d.portid.Load() {
		return ""
	}
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == 1 {
			if ad.String() == d.opts.table() {
				return what
			}
			return ""
		}
	}
	return ""
}

// repair replaces the whole table with the last synced state, unless
// there is none yet.
func (d *Dataplane) repair(why string, repaired func(Repair)) {
	d.mu.Lock()
	if d.st == nil || d.closed {
		d.mu.Unlock()
		return
	}
	start := time.Now()
	var stats Stats
	_, err := d.commit(d.st, nil, &stats)
	stats.Duration = time.Since(start)
	d.mu.Unlock()
	d.log.Warn("dataplane: repaired outside damage to our table", "reason", why, "err", err)
	if repaired != nil {
		repaired(Repair{Reason: why, Stats: stats, Err: err})
	}
}

// verify compares the kernel's table with the last synced state, chain by
// chain and rule by rule, and by the names of its sets (not their
// elements, which would cost as much as a sync): it returns what differs,
// or "".
func (d *Dataplane) verify() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil || d.closed {
		return ""
	}
	t := d.table()
	chains, err := d.conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return "cannot list chains: " + err.Error()
	}
	n := 0
	for _, c := range chains {
		if c.Table.Name != t.Name {
			continue
		}
		n++
		want, ok := d.st.rs.chains[c.Name]
		if !ok {
			return "foreign chain " + c.Name
		}
		rules, err := d.conn.GetRules(t, c)
		if err != nil || len(rules) != len(want.rules) {
			return "rules of chain " + c.Name + " changed"
		}
	}
	if n != len(d.st.rs.chains) {
		return "chains missing"
	}
	sets, err := d.conn.GetSets(t)
	if err != nil || len(sets) != len(d.st.rs.sets) {
		return "sets changed"
	}
	for _, s := range sets {
		if _, ok := d.st.rs.sets[s.Name]; !ok {
			return "foreign set " + s.Name
		}
	}
	return ""
}
