package dataplane

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"unsafe"

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

	// fd is conn's socket, on which commitBatch sends our batches, so
	// that they carry conn's port; sndbuf is its send buffer's size.
	// commitBatch uses fd directly rather than through the socket's
	// Control, whose callback was a closure allocated per call: conn is
	// closed only under mu, by dial and Close.
	fd     int
	sndbuf int
	// t is our table, x the transaction that fills a batch, reused from
	// batch to batch.
	t *nftables.Table
	x tx
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
	d := &Dataplane{opts: opts, log: opts.Logger, ns: -1,
		t: &nftables.Table{Name: opts.table(), Family: nftables.TableFamilyINet}}
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
	// Until a new connection is up there is no socket to send on, and
	// the closed one's descriptor may be reused by anything.
	d.fd = -1
	fd := -1
	co := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(func(c *netlink.Conn) error {
		if err := c.SetReadBuffer(sockBuf); err != nil {
			return err
		}
		var err error
		fd, err = d.notePort(c)
		return err
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
	d.conn, d.fd, d.sndbuf = c, fd, 0
	return nil
}

// notePort records the netlink port the kernel bound c to, and returns
// c's descriptor.
func (d *Dataplane) notePort(c *netlink.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var serr error
	err = rc.Control(func(s uintptr) {
		fd = int(s)
		var sa unix.Sockaddr
		if sa, serr = unix.Getsockname(fd); serr == nil {
			if nl, ok := sa.(*unix.SockaddrNetlink); ok {
				d.portid.Store(nl.Pid)
			}
		}
	})
	return fd, errors.Join(err, serr)
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
	d.fd = -1
	err := d.conn.CloseLasting()
	d.closeNS()
	return err
}

func (d *Dataplane) table() *nftables.Table {
	return d.t
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
	if d.fd < 0 {
		return errors.New("no netlink connection: it failed to reopen")
	}
	// The kernel doubles the size asked for and refuses a message longer
	// than the buffer less 32 bytes.
	if need := len(b.buf) + 64; need > d.sndbuf {
		if err := unix.SetsockoptInt(d.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, need/2+1); err != nil {
			return fmt.Errorf("send batch of %d bytes: netlink send buffer of %d bytes: %w", len(b.buf), need, err)
		}
		d.sndbuf = need
	}
	// No address: an unconnected netlink socket sends to the kernel.
	if err := unix.Sendto(d.fd, b.buf, 0, nil); err != nil {
		return fmt.Errorf("send batch of %d bytes: %w", len(b.buf), err)
	}
	return d.replies(b)
}

// replies reads what the kernel answered to b: an error for each message
// it refused, and the acknowledgement of b's last message, which comes
// after every other reply (a refused commit is reported before it), so
// reading stops there.
func (d *Dataplane) replies(b *batch) error {
	if d.rbuf == nil {
		d.rbuf = make([]byte, 1<<17)
	}
	var errs []error
	acked := false
	for !acked {
		n, err := recvNoWait(d.fd, d.rbuf)
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			return fmt.Errorf("batch replies: %w", err)
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

// recvNoWait reads one datagram into p without waiting. unix.Recvfrom
// would allocate the sender's address, which is always the kernel here.
func recvNoWait(fd int, p []byte) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))),
		uintptr(len(p)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
