//go:build !linux

package dnsserver

import "net"

// sizeReadBuffer gives c a receive buffer of n bytes; the size the kernel
// granted is not known here, so it reports n.
func sizeReadBuffer(c *net.UDPConn, n int) (int, error) {
	return n, c.SetReadBuffer(n)
}
