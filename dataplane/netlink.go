package dataplane

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// sockBuf sizes the netlink socket's receive buffer: listing a large
// table (Watch's check, readback) comes back in it. The send buffer is
// grown to each batch instead (see commitBatch).
const sockBuf = 32 << 20

// maxBatchBytes is the largest batch commitBatch sends: the kernel caps a
// socket's send buffer, and so one sendmsg, at half of INT_MAX.
const maxBatchBytes = 1<<30 - 1<<20

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

	// sock is conn's socket, on which commitBatch sends our batches, so
	// that they carry conn's port; sndbuf is its send buffer's size.
	sock   *netlink.Conn
	sndbuf int
	// enc encodes the table, chain, rule and set messages of a batch into
	// b without sending them (see newEncoder); b and rbuf are reused from
	// batch to batch.
	enc  *nftables.Conn
	b    batch
	rbuf []byte

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
	if err := d.newEncoder(); err != nil {
		_ = d.conn.CloseLasting()
		d.closeNS()
		return nil, err
	}
	return d, nil
}

// newEncoder makes enc, a google/nftables connection whose socket is a
// stand-in that appends every batch flushed to it to b: its Flush encodes
// the queued messages into our batch, and its acks are taken as given
// (the kernel's come when commitBatch sends the batch). A new one replaces
// one whose queue a failed batch may have left in an error state.
func (d *Dataplane) newEncoder() error {
	enc, err := nftables.New(nftables.AsLasting(), nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		d.b.appendMessages(req)
		return nil, nil
	}))
	if err != nil {
		return fmt.Errorf("netlink encoder: %w", err)
	}
	d.enc = enc
	return nil
}

func (d *Dataplane) dial() error {
	if d.conn != nil {
		_ = d.conn.CloseLasting()
	}
	co := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(func(c *netlink.Conn) error {
		if err := c.SetReadBuffer(sockBuf); err != nil {
			return err
		}
		d.sock, d.sndbuf = c, 0
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

// commitBatch sends b, finished, on our socket in one sendmsg and returns
// the kernel's verdict. The kernel handles the batch inside that sendmsg,
// so every reply is queued by the time it returns and is read without
// waiting: no reply would mean the kernel dropped the batch unread. The
// send buffer is grown to the batch first, since a message larger than
// it fails with EMSGSIZE; a batch is never split, so that a sync stays
// one transaction.
func (d *Dataplane) commitBatch(b *batch) error {
	if len(b.buf) > maxBatchBytes {
		return fmt.Errorf("batch of %d bytes: larger than a netlink socket sends (%d)", len(b.buf), maxBatchBytes)
	}
	rc, err := d.sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		// The kernel doubles the size asked for and refuses a message
		// longer than the buffer less 32 bytes.
		if need := len(b.buf) + 64; need > d.sndbuf {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, need/2+1); serr != nil {
				serr = fmt.Errorf("netlink send buffer of %d bytes: %w", need, serr)
				return
			}
			d.sndbuf = need
		}
		serr = unix.Sendto(int(fd), b.buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	if err = errors.Join(err, serr); err != nil {
		return fmt.Errorf("send batch of %d bytes: %w", len(b.buf), err)
	}
	return d.replies(rc, b)
}

// replies reads what the kernel answered to b: an error for each message
// it refused, and the acknowledgement of b's last message, which comes
// after every other reply (a refused commit is reported before it), so
// reading stops there.
func (d *Dataplane) replies(rc syscall.RawConn, b *batch) error {
	if d.rbuf == nil {
		d.rbuf = make([]byte, 1<<17)
	}
	var errs []error
	acked := false
	for !acked {
		var n int
		var rerr error
		if err := rc.Control(func(fd uintptr) {
			n, _, rerr = unix.Recvfrom(int(fd), d.rbuf, unix.MSG_DONTWAIT)
		}); err != nil {
			return err
		}
		if errors.Is(rerr, unix.EAGAIN) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("batch replies: %w", rerr)
		}
		for p := d.rbuf[:min(n, len(d.rbuf))]; len(p) >= nlmsgHdrLen+4; {
			l := int(binary.NativeEndian.Uint32(p))
			typ, seq := binary.NativeEndian.Uint16(p[4:]), binary.NativeEndian.Uint32(p[8:])
			if typ == unix.NLMSG_ERROR {
				if errno := -int32(binary.NativeEndian.Uint32(p[nlmsgHdrLen:])); errno != 0 {
					errs = append(errs, fmt.Errorf("%s: %w", b.describe(seq), unix.Errno(errno)))
				} else if seq == b.lastSeq() {
					acked = true
				}
			}
			if l < nlmsgHdrLen || l >= len(p) {
				break
			}
			p = p[(l+3)&^3:]
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if !acked {
		return errors.New("the kernel neither committed nor refused the batch")
	}
	return nil
}
