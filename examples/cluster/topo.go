package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netns"
)

// The topology: two nodes joined by one link, each with its pods behind it
// on veth pairs. Pod addresses are routed between the nodes, as a flat pod
// network (a CNI with host routes) does.
//
//	client 10.244.1.100 ─┐                        ┌─ 10.244.2.2 pod-b1
//	pod-a1 10.244.1.2  ──┤ node-a ══ link ══ node-b ├─ 10.244.2.3 pod-b2 …
//	                       192.168.50.1    192.168.50.2
var (
	linkNet = netip.MustParsePrefix("192.168.50.0/24")
	podNet  = netip.MustParsePrefix("10.244.0.0/16")
)

// host is one network namespace of the topology.
type host struct {
	name string // the `ip netns` name
	addr netip.Addr
	ns   netns.NsHandle
}

// node is a node namespace: its pods' subnet, its address on the link, and
// its address on every pod link (the pods' gateway and its DNS address).
type node struct {
	*host
	Name    string // the node's name in the manifests
	LinkIP  netip.Addr
	Gateway netip.Addr
	subnet  netip.Prefix
	pods    int
}

// topology is the whole network. Close removes every namespace it made.
// Not safe for concurrent changes; hosts may be used concurrently.
type topology struct {
	prefix string
	names  []string
	hosts  []*host
	nodes  []*node
}

// newTopology builds n nodes (node-a, node-b, …) joined by one link.
func newTopology(ctx context.Context, n int) (t *topology, err error) {
	t = &topology{prefix: fmt.Sprintf("svcc%d-", os.Getpid())}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	link, err := t.add(ctx, "link", netip.Addr{}) // a bridge namespace, so that any number of nodes share one segment
	if err != nil {
		return nil, err
	}
	if err := t.ip(ctx, "-n", link.name, "link", "add", "br0", "type", "bridge"); err != nil {
		return nil, err
	}
	if err := t.ip(ctx, "-n", link.name, "link", "set", "br0", "up"); err != nil {
		return nil, err
	}
	for i := range n {
		if _, err := t.addNode(ctx, link, i); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// addNode makes node i: forwarding on, a port on the link's bridge, and a
// route to every earlier node's pod subnet (and theirs to its).
func (t *topology) addNode(ctx context.Context, link *host, i int) (*node, error) {
	letter := string(rune('a' + i))
	h, err := t.add(ctx, "node-"+letter, netip.AddrFrom4([4]byte{192, 168, 50, byte(1 + i)}))
	if err != nil {
		return nil, err
	}
	nd := &node{host: h, Name: "node-" + letter, LinkIP: h.addr,
		Gateway: netip.AddrFrom4([4]byte{10, 244, byte(1 + i), 1}),
		subnet:  netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 244, byte(1 + i), 0}), 24)}
	if err := inNS(h.ns, func() error { return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644) }); err != nil {
		return nil, fmt.Errorf("%s: ip_forward: %w", h.name, err)
	}
	port := "n" + letter
	steps := [][]string{
		{"-n", link.name, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.name},
		{"-n", link.name, "link", "set", port, "master", "br0", "up"},
		{"-n", h.name, "addr", "add", netip.PrefixFrom(h.addr, linkNet.Bits()).String(), "dev", "eth0"},
		{"-n", h.name, "link", "set", "eth0", "up"},
	}
	for _, other := range t.nodes {
		steps = append(steps,
			[]string{"-n", h.name, "route", "add", other.subnet.String(), "via", other.LinkIP.String()},
			[]string{"-n", other.name, "route", "add", nd.subnet.String(), "via", nd.LinkIP.String()})
	}
	if err := t.run(ctx, steps); err != nil {
		return nil, err
	}
	t.nodes = append(t.nodes, nd)
	return nd, nil
}

// addPod makes a pod namespace behind nd with the next address of its
// subnet (or the given last byte when last is not zero).
func (t *topology) addPod(ctx context.Context, nd *node, name string, last byte) (*host, error) {
	nd.pods++
	if last == 0 {
		last = byte(1 + nd.pods)
	}
	a := nd.subnet.Addr().As4()
	a[3] = last
	h, err := t.add(ctx, name, netip.AddrFrom4(a))
	if err != nil {
		return nil, err
	}
	veth := fmt.Sprintf("p%d", last)
	gw := nd.Gateway.String()
	return h, t.run(ctx, [][]string{
		{"-n", nd.name, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.name},
		{"-n", nd.name, "addr", "add", gw + "/32", "dev", veth},
		{"-n", nd.name, "link", "set", veth, "up"},
		{"-n", nd.name, "route", "add", h.addr.String() + "/32", "dev", veth, "src", gw},
		{"-n", h.name, "addr", "add", h.addr.String() + "/32", "dev", "eth0"},
		{"-n", h.name, "link", "set", "eth0", "up"},
		{"-n", h.name, "route", "add", gw + "/32", "dev", "eth0"},
		{"-n", h.name, "route", "add", "default", "via", gw},
	})
}

func (t *topology) add(ctx context.Context, role string, addr netip.Addr) (*host, error) {
	name := t.prefix + role
	if err := t.ip(ctx, "netns", "add", name); err != nil {
		return nil, err
	}
	t.names = append(t.names, name)
	ns, err := netns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", name, err)
	}
	h := &host{name: name, addr: addr, ns: ns}
	t.hosts = append(t.hosts, h)
	return h, t.ip(ctx, "-n", name, "link", "set", "lo", "up")
}

func (t *topology) run(ctx context.Context, steps [][]string) error {
	for _, s := range steps {
		if err := t.ip(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

func (t *topology) ip(ctx context.Context, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Close removes every namespace, the last made first.
func (t *topology) Close() error {
	var errs []error
	for _, h := range t.hosts {
		h.ns.Close()
	}
	for i := len(t.names) - 1; i >= 0; i-- {
		if err := t.ip(context.Background(), "netns", "del", t.names[i]); err != nil {
			errs = append(errs, err)
		}
	}
	t.names, t.hosts = nil, nil
	return errors.Join(errs...)
}

// path is the file that pins h's namespace, for the proxy's NetNS.
func (h *host) path() string { return filepath.Join("/run/netns", h.name) }

// inNS runs fn on a locked OS thread switched into ns. Sockets fn opens
// stay in ns.
func inNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// A fresh goroutine whose thread is never handed back: a thread
		// left in another namespace must not run other goroutines.
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// serve answers every TCP connection to port inside h with name, until
// ctx ends: the pods' workload.
func (h *host) serve(ctx context.Context, wg *sync.WaitGroup, port uint16, name string) error {
	var l net.Listener
	err := inNS(h.ns, func() (err error) {
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: listen: %w", name, err)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		l.Close()
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s\n", name)
			c.Close()
		}
	}()
	return nil
}

// ask connects from inside h to dst and returns the name the pod answered.
func (h *host) ask(ctx context.Context, dst netip.AddrPort) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var c net.Conn
	err := inNS(h.ns, func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", dst.String())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("connect %s from %s: %w", dst, h.name, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", dst, err)
	}
	return strings.TrimSpace(line), nil
}
