package netnstest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Serve starts a TCP and a UDP server on port (all addresses, both
// families) inside the pod. Both answer every connection or datagram with
// one line, "<pod name> <source address:port as seen>", then (TCP) close.
// The servers are stopped, and their goroutines waited for, by t.Cleanup.
func (p *Pod) Serve(t testing.TB, port uint16) {
	t.Helper()
	p.ServeTCP(t, port)
	p.ServeUDP(t, port)
}

// ServeTCP starts only the TCP server of [Pod.Serve].
func (p *Pod) ServeTCP(t testing.TB, port uint16) {
	t.Helper()
	var ln net.Listener
	p.run(t, fmt.Sprintf("tcp/%d", port), func() (c io.Closer, err error) {
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return ln, err
	}, func() error {
		for {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			// Answered inline: one short write to a fresh socket does not
			// block, and no goroutine per connection is left to track.
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(answer(p.Name, c.RemoteAddr()))
			_ = c.Close()
		}
	})
}

// ServeUDP starts only the UDP server of [Pod.Serve].
func (p *Pod) ServeUDP(t testing.TB, port uint16) {
	t.Helper()
	var pc net.PacketConn
	p.run(t, fmt.Sprintf("udp/%d", port), func() (c io.Closer, err error) {
		pc, err = net.ListenPacket("udp", fmt.Sprintf(":%d", port))
		return pc, err
	}, func() error {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return err
			}
			_, _ = pc.WriteTo(answer(p.Name, from), from)
		}
	})
}

// run opens a socket inside the pod's namespace and serves it with loop on
// one goroutine until t's cleanup closes the socket and waits for loop.
func (p *Pod) run(t testing.TB, what string, open func() (io.Closer, error), loop func() error) {
	t.Helper()
	var c io.Closer
	if err := p.NS.Do(func() (err error) { c, err = open(); return err }); err != nil {
		t.Fatalf("netnstest: pod %s: listen %s: %v", p.Name, what, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := loop(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("netnstest: pod %s: serve %s: %v", p.Name, what, err)
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		<-done
	})
}

func answer(name string, from net.Addr) []byte {
	return fmt.Appendf(nil, "%s %s\n", name, unmapAddrPort(from))
}

func unmapAddrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
