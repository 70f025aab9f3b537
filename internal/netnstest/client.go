package netnstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds every request, also under a context with a later
// (or no) deadline.
const DefaultTimeout = 2 * time.Second

// Reply is what a server started by [Pod.Serve] answered.
type Reply struct {
	// Backend is the name of the pod that answered.
	Backend string
	// Source is the client's address and port as the backend saw it: the
	// client's own under DNAT only, the node's after masquerading.
	Source netip.AddrPort
}

// Ask sends one request from inside the namespace to dst over network
// ("tcp" or "udp") and returns the answer. TCP opens a new connection,
// UDP a new socket, so each request is a new flow (new conntrack entry).
// Errors wrap [ErrRefused], [ErrTimeout] or [ErrUnreachable] when they are
// one of those; the context's deadline, or [DefaultTimeout] if sooner,
// bounds the whole request.
func (n *NS) Ask(ctx context.Context, network string, dst netip.AddrPort) (Reply, error) {
	return n.AskFrom(ctx, network, netip.Addr{}, dst)
}

// AskFrom is [NS.Ask] from a chosen local source address; the zero Addr
// lets the kernel choose.
func (n *NS) AskFrom(ctx context.Context, network string, src netip.Addr, dst netip.AddrPort) (Reply, error) {
	if network != "tcp" && network != "udp" {
		return Reply{}, fmt.Errorf("netnstest: network %q: want tcp or udp", network)
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	r, err := n.ask(ctx, network, src, dst)
	if err != nil {
		return Reply{}, fmt.Errorf("netnstest: %s %v from %s: %w", network, dst, n.name, classify(err))
	}
	return r, nil
}

func (n *NS) ask(ctx context.Context, network string, src netip.Addr, dst netip.AddrPort) (Reply, error) {
	d := net.Dialer{}
	if src.IsValid() {
		if network == "tcp" {
			d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		} else {
			d.LocalAddr = &net.UDPAddr{IP: src.AsSlice()}
		}
	}
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = d.DialContext(ctx, network, dst.String())
		return err
	})
	if err != nil {
		return Reply{}, err
	}
	defer c.Close()
	return request(ctx, c, network == "udp")
}

// request asks over c, writing a datagram first when the server answers
// only what it receives (UDP).
func request(ctx context.Context, c net.Conn, udp bool) (Reply, error) {
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		return Reply{}, err
	}
	if udp {
		if _, err := c.Write([]byte("?\n")); err != nil {
			return Reply{}, err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return Reply{}, err
	}
	return parseReply(line)
}

// UDPSession is one UDP socket inside a namespace, kept across requests:
// its datagrams are one flow (one conntrack entry), where [NS.Ask] makes a
// new one per request. Build it with [NS.DialUDP].
type UDPSession struct {
	n *NS
	c net.Conn
}

// DialUDP opens a session to dst from inside n; t.Cleanup closes it.
func (n *NS) DialUDP(t testing.TB, dst netip.AddrPort) *UDPSession {
	t.Helper()
	var c net.Conn
	if err := n.Do(func() (err error) { c, err = net.Dial("udp", dst.String()); return err }); err != nil {
		t.Fatalf("netnstest: udp %v from %s: %v", dst, n.name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &UDPSession{n: n, c: c}
}

// Ask sends one datagram on the session and returns the answer, bounded as
// [NS.Ask] is.
func (s *UDPSession) Ask(ctx context.Context) (Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	r, err := request(ctx, s.c, true)
	if err != nil {
		return Reply{}, fmt.Errorf("netnstest: udp session from %s: %w", s.n.name, classify(err))
	}
	return r, nil
}

func parseReply(line string) (Reply, error) {
	name, addr, ok := strings.Cut(strings.TrimSpace(line), " ")
	if !ok {
		return Reply{}, fmt.Errorf("malformed answer %q", line)
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return Reply{}, fmt.Errorf("malformed answer %q: %w", line, err)
	}
	return Reply{Backend: name, Source: ap}, nil
}

// classify wraps err with the sentinel that names its kind.
func classify(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: %w", ErrRefused, err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

// Tally sends count requests one after another, each a new flow, and
// counts the answers by backend name. It stops at the first error and
// returns the counts so far with it.
func (n *NS) Tally(ctx context.Context, network string, dst netip.AddrPort, count int) (map[string]int, error) {
	got := make(map[string]int)
	for range count {
		r, err := n.Ask(ctx, network, dst)
		if err != nil {
			return got, err
		}
		got[r.Backend]++
	}
	return got, nil
}
