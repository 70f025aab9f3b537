package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// chunk bounds the elements sent in one netlink message: a longer list can
// overflow a 64 KiB attribute, which google/nftables v0.3.0 reports as a
// misleading ENOENT.
const chunk = 256

// sockBuf sizes both netlink socket buffers: one ack per message comes back
// and a cold start sends hundreds of messages.
const sockBuf = 32 << 20

// Dataplane programs our inet table in one network namespace over netlink.
// The zero value is not usable; call New. A Dataplane is safe for concurrent
// use: calls are serialised, because google/nftables v0.3.0 must never use a
// connection (or two connections) concurrently.
type Dataplane struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex // protects everything below and serialises netlink use
	ns     netns.NsHandle
	conn   *nftables.Conn
	st     *state // what the kernel holds; nil forces a full sync
	closed bool

	// portid is the netlink port of conn: the kernel stamps it on the
	// events of every batch we commit, which is how Watch tells ours from
	// anyone else's. Atomic because Watch reads it without mu.
	portid atomic.Uint32
}

var _ Syncer = (*Dataplane)(nil)

// New opens a netlink connection to the namespace opts.NetNS names. It does
// not touch the kernel's rules: the first Sync adopts whatever table of ours
// an earlier process left and replaces it atomically.
func New(opts Options) (*Dataplane, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	d := &Dataplane{opts: opts, log: opts.Logger, ns: -1}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if opts.NetNS != "" {
		ns, err := netns.GetFromPath(opts.NetNS)
		if err != nil {
			return nil, fmt.Errorf("netns %q: %w", opts.NetNS, err)
		}
		d.ns = ns
	}
	if err := d.dial(); err != nil {
		d.closeNS()
		return nil, err
	}
	return d, nil
}

func (d *Dataplane) dial() error {
	if d.conn != nil {
		_ = d.conn.CloseLasting()
	}
	co := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(func(c *netlink.Conn) error {
		if err := c.SetReadBuffer(sockBuf); err != nil {
			return err
		}
		if err := c.SetWriteBuffer(sockBuf); err != nil {
			return err
		}
		return d.notePort(c)
	})}
	if d.ns >= 0 {
		co = append(co, nftables.WithNetNSFd(int(d.ns)))
	}
	c, err := nftables.New(co...)
	if err != nil {
		return d.privileged(fmt.Errorf("netlink: %w", err))
	}
	if _, err := c.ListTablesOfFamily(nftables.TableFamilyINet); err != nil {
		_ = c.CloseLasting()
		if errors.Is(err, unix.EPERM) {
			return d.privileged(err)
		}
		return fmt.Errorf("nf_tables: %w: %w", ErrNotSupported, err)
	}
	d.conn = c
	return nil
}

// notePort records the netlink port the kernel bound c to.
func (d *Dataplane) notePort(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		var sa unix.Sockaddr
		if sa, serr = unix.Getsockname(int(fd)); serr == nil {
			if nl, ok := sa.(*unix.SockaddrNetlink); ok {
				d.portid.Store(nl.Pid)
			}
		}
	})
	return errors.Join(err, serr)
}

// privileged names the namespace and the privileges a refused operation
// needs: a bare "setns: operation not permitted" says neither.
func (d *Dataplane) privileged(err error) error {
	if !errors.Is(err, unix.EPERM) {
		return err
	}
	where := "the calling thread's network namespace"
	if d.opts.NetNS != "" {
		where = fmt.Sprintf("network namespace %q", d.opts.NetNS)
	}
	return fmt.Errorf("%s: entering it needs CAP_SYS_ADMIN and programming nftables in it "+
		"CAP_NET_ADMIN (run as root or grant both): %w", where, err)
}

func (d *Dataplane) closeNS() {
	if d.ns >= 0 {
		_ = d.ns.Close()
		d.ns = -1
	}
}

// Resync forces the next Sync to replace the whole table.
func (d *Dataplane) Resync() {
	d.mu.Lock()
	d.st = nil
	d.mu.Unlock()
}

// Cleanup deletes our table, and nothing else, if it exists.
func (d *Dataplane) Cleanup(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.st = nil
	t := d.table()
	// Adding first makes the delete succeed whether or not the table exists.
	d.conn.AddTable(t)
	d.conn.DelTable(t)
	if err := d.conn.Flush(); err != nil {
		_ = d.dial()
		return fmt.Errorf("delete table %q: %w", t.Name, err)
	}
	return nil
}

// Close releases the netlink connection and namespace handle; the rules stay.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	err := d.conn.CloseLasting()
	d.closeNS()
	return err
}

func (d *Dataplane) table() *nftables.Table {
	return &nftables.Table{Name: d.opts.table(), Family: nftables.TableFamilyINet}
}
