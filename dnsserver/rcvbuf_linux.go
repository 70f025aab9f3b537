//go:build linux

package dnsserver

import (
	"net"
	"syscall"
)

// sizeReadBuffer gives c a receive buffer of n bytes and returns the size
// the kernel reports. SO_RCVBUF is capped at net.core.rmem_max (often
// 208 KiB); a process with CAP_NET_ADMIN may go past it with
// SO_RCVBUFFORCE, tried first. Linux reports twice the size asked for
// (it counts its bookkeeping).
func sizeReadBuffer(c *net.UDPConn, n int) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	got := 0
	var serr error
	err = raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
		if serr == nil {
			got, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		}
	})
	if err == nil {
		err = serr
	}
	return got, err
}
