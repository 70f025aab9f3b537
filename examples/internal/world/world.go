package world

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netns"

	"github.com/svcnet/svcnet/examples/proxy/node"
)

// Addresses of the world. Pods and the client sit in PodCIDR behind the
// node; the outside host reaches the node over ExternalLink.
var (
	PodCIDR      = netip.MustParsePrefix("10.244.0.0/24")
	NodePodSide  = netip.MustParseAddr("10.244.0.1")   // the node's address on every pod link
	NodeExternal = netip.MustParseAddr("192.168.77.1") // the node's address towards the outside host
	ExternalHost = netip.MustParseAddr("192.168.77.2") // the outside host
	LBPool       = "203.0.113.10-203.0.113.20"         // routed to the node by the outside host
	ClientAddr   = netip.MustParseAddr("10.244.0.100")
)

// Host is one namespace of the world.
type Host struct {
	Name string // the `ip netns` name
	Addr netip.Addr
	NS   netns.NsHandle
}

// World is a node, pods, a client and an outside host. Build it with
// New; Close removes every namespace. Not safe for concurrent mutation;
// Host handles may be used concurrently.
type World struct {
	prefix   string
	Node     *Host
	Client   *Host
	External *Host
	Pods     map[string]*Host
	names    []string
}

// New builds the world with the named pods, numbered from 10.244.0.11.
// It must run inside Enter's child. On error everything made so far is
// removed.
func New(ctx context.Context, pods ...string) (w *World, err error) {
	w = &World{prefix: fmt.Sprintf("svc%d-", os.Getpid()), Pods: map[string]*Host{}}
	defer func() {
		if err != nil {
			w.Close()
			w = nil
		}
	}()
	if w.Node, err = w.add(ctx, "node", netip.Addr{}); err != nil {
		return nil, err
	}
	if err = w.sysctl(w.Node, "net/ipv4/ip_forward", "1"); err != nil {
		return nil, err
	}
	w.run(ctx, "-n", w.Node.Name, "link", "set", "lo", "up")
	for i, p := range pods {
		h, err := w.add(ctx, p, netip.AddrFrom4([4]byte{10, 244, 0, byte(11 + i)}))
		if err != nil {
			return nil, err
		}
		if err := w.linkPod(ctx, h, fmt.Sprintf("p%d", i)); err != nil {
			return nil, err
		}
		w.Pods[p] = h
	}
	if w.Client, err = w.add(ctx, "client", ClientAddr); err != nil {
		return nil, err
	}
	if err := w.linkPod(ctx, w.Client, "cl"); err != nil {
		return nil, err
	}
	if w.External, err = w.add(ctx, "external", ExternalHost); err != nil {
		return nil, err
	}
	n, e := w.Node.Name, w.External.Name
	steps := [][]string{
		{"-n", n, "link", "add", "ext0", "type", "veth", "peer", "name", "eth0", "netns", e},
		{"-n", n, "addr", "add", NodeExternal.String() + "/24", "dev", "ext0"},
		{"-n", n, "link", "set", "ext0", "up"},
		{"-n", e, "addr", "add", ExternalHost.String() + "/24", "dev", "eth0"},
		{"-n", e, "link", "set", "eth0", "up"},
		{"-n", e, "link", "set", "lo", "up"},
		{"-n", e, "route", "add", "default", "via", NodeExternal.String()},
	}
	for _, s := range steps {
		if err := w.run(ctx, s...); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// linkPod joins h to the node by a veth pair: the pod gets Addr/32 with
// the node as gateway, the node a /32 route to the pod.
func (w *World) linkPod(ctx context.Context, h *Host, nodeSide string) error {
	n := w.Node.Name
	steps := [][]string{
		{"-n", n, "link", "add", nodeSide, "type", "veth", "peer", "name", "eth0", "netns", h.Name},
		{"-n", n, "addr", "add", NodePodSide.String() + "/32", "dev", nodeSide},
		{"-n", n, "link", "set", nodeSide, "up"},
		{"-n", n, "route", "add", h.Addr.String() + "/32", "dev", nodeSide, "src", NodePodSide.String()},
		{"-n", h.Name, "addr", "add", h.Addr.String() + "/32", "dev", "eth0"},
		{"-n", h.Name, "link", "set", "eth0", "up"},
		{"-n", h.Name, "link", "set", "lo", "up"},
		{"-n", h.Name, "route", "add", NodePodSide.String() + "/32", "dev", "eth0"},
		{"-n", h.Name, "route", "add", "default", "via", NodePodSide.String()},
	}
	for _, s := range steps {
		if err := w.run(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

func (w *World) add(ctx context.Context, name string, addr netip.Addr) (*Host, error) {
	full := w.prefix + name
	if err := w.run(ctx, "netns", "add", full); err != nil {
		return nil, err
	}
	w.names = append(w.names, full)
	h, err := netns.GetFromName(full)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", full, err)
	}
	return &Host{Name: full, Addr: addr, NS: h}, nil
}

// NetNSPath is the path of h's namespace, for the proxy's --netns.
func (h *Host) NetNSPath() string { return filepath.Join("/run/netns", h.Name) }

// sysctl writes /proc/sys/<key> inside h: /proc/sys/net shows the
// namespace of the thread that opens it.
func (w *World) sysctl(h *Host, key, val string) error {
	return node.InNetNS(h.NS, func() error {
		return os.WriteFile("/proc/sys/"+key, []byte(val), 0o644)
	})
}

func (w *World) run(ctx context.Context, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Close removes every namespace the world made.
func (w *World) Close() error {
	var errs []error
	for _, h := range w.hosts() {
		h.NS.Close()
	}
	for i := len(w.names) - 1; i >= 0; i-- {
		if err := w.run(context.Background(), "netns", "del", w.names[i]); err != nil {
			errs = append(errs, err)
		}
	}
	w.names = nil
	return errors.Join(errs...)
}

func (w *World) hosts() []*Host {
	var out []*Host
	for _, h := range []*Host{w.Node, w.Client, w.External} {
		if h != nil {
			out = append(out, h)
		}
	}
	for _, h := range w.Pods {
		out = append(out, h)
	}
	return out
}

// Listen opens a listener inside h.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := node.InNetNS(h.NS, func() (err error) {
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// DialContext dials from inside h; the socket lives in h.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := node.InNetNS(h.NS, func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}
