package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/dnsserver"
	"github.com/svcnet/svcnet/examples/internal/proxy"
	"github.com/svcnet/svcnet/examples/internal/world"
	"github.com/svcnet/svcnet/examples/manifests"
	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/resolved"
)

// lbPool is routed to the node by the outside host's default route.
const lbPool = "203.0.113.10-203.0.113.20"

// podPort is where every pod serves.
const podPort = 80

// Env is a running world with the proxy serving it.
type Env struct {
	World *world.World
	Dir   string
	Cfg   proxy.Config
	Proxy *proxy.Proxy
	stop  func() error
}

// PodsYAML renders the named pods' manifests, as kubelet would report them.
func PodsYAML(w *world.World, names []string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels:
    app: my-app
spec:
  nodeName: node
  hostname: %s
  containers:
    - name: web
      ports:
        - name: http
          containerPort: %d
status:
  phase: Running
  podIP: %s
  conditions:
    - type: Ready
      status: "True"
`, n, n, podPort, w.Pods[n].IPv4)
	}
	return b.String()
}

// ServicesYAML is the tutorial Service plus a sticky one and a
// LoadBalancer.
const ServicesYAML = `apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  selector:
    app: my-app
  ports:
    - protocol: TCP
      port: 80
      targetPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: sticky
spec:
  selector:
    app: my-app
  sessionAffinity: ClientIP
  ports:
    - port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector:
    app: my-app
  ports:
    - name: http
      port: 80
      targetPort: http
`

func nodeYAML(w *world.World) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Node
metadata:
  name: node
  labels:
    topology.kubernetes.io/zone: zone-a
status:
  addresses:
    - type: InternalIP
      address: %s
`, w.NodeIPv4)
}

// Start builds the world with pods, writes the manifests to a temporary
// directory and starts the proxy on the node namespace. Stop with
// Env.Close.
func Start(ctx context.Context, log *slog.Logger, pods ...string) (env *Env, err error) {
	w, err := world.New(podPort, pods...)
	if err != nil {
		return nil, err
	}
	env = &Env{World: w}
	defer func() {
		if err != nil {
			env.Close()
			env = nil
		}
	}()
	if env.Dir, err = os.MkdirTemp("", "svcnet-demo-"); err != nil {
		return nil, err
	}
	for name, body := range map[string]string{"services.yaml": ServicesYAML, "pods.yaml": PodsYAML(w, pods), "node.yaml": nodeYAML(w)} {
		if err := os.WriteFile(filepath.Join(env.Dir, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	env.Cfg = proxy.Config{
		Manifests: manifests.Config{Dir: env.Dir}, NetNS: w.Node.Path(), Node: "node",
		ClusterCIDRs: []netip.Prefix{w.PodCIDRv4, w.PodCIDRv6},
		LBPool:       []allocator.AddrRange{allocator.MustParseAddrRange(lbPool)},
		DNSListen:    net.JoinHostPort(w.NodeIPv4.String(), "53"),
		DNS:          dnsserver.Config{NoForward: true}, // nothing outside the world to forward to
		Logger:       log,
	}
	return env, env.StartProxy(ctx)
}

// StartProxy starts (or restarts) the proxy and waits for its first sync.
func (e *Env) StartProxy(ctx context.Context) error {
	p, err := proxy.New(e.Cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	e.Proxy = p
	e.stop = func() error {
		cancel()
		return <-done
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st := e.Synced(); st != nil && len(st.Services) > 0 {
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("proxy stopped: %w", err)
		default:
		}
	}
	return errors.New("proxy did not sync within 5s")
}

// Synced returns the last state the proxy delivered once the kernel and
// DNS have it, else nil.
func (e *Env) Synced() *resolved.State { return e.Proxy.Served() }

// StopProxy stops the proxy; its rules stay in the kernel.
func (e *Env) StopProxy() error {
	if e.stop == nil {
		return nil
	}
	err := e.stop()
	e.stop = nil
	return err
}

// Close stops the proxy and removes the world and the manifests.
func (e *Env) Close() error {
	errs := []error{e.StopProxy()}
	if e.Dir != "" {
		errs = append(errs, os.RemoveAll(e.Dir))
	}
	errs = append(errs, e.World.Close())
	return errors.Join(errs...)
}

// Service returns the named service of the default namespace as the proxy
// last synced it.
func (e *Env) Service(name string) (*resolved.Service, bool) {
	st := e.Synced()
	if st == nil {
		return nil, false
	}
	for i := range st.Services {
		if s := st.Services[i]; s.Name == name && s.Namespace == "default" {
			return s, true
		}
	}
	return nil, false
}

// WriteManifest replaces one manifest file atomically.
func (e *Env) WriteManifest(name, body string) error {
	tmp := filepath.Join(e.Dir, ".tmp-"+name)
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(e.Dir, name))
}

// Spread sends n requests, each a new connection, from ns to dst and
// counts answers per pod.
func Spread(ctx context.Context, ns *netnstest.NS, dst netip.AddrPort, n int) (map[string]int, error) {
	counts, err := ns.Tally(ctx, "tcp", dst, n)
	if err != nil {
		return counts, fmt.Errorf("requests to %s: %w", dst, err)
	}
	return counts, nil
}

// Query asks the DNS server at server from inside ns.
func Query(ns *netnstest.NS, server, name string, qtype uint16) (*dns.Msg, error) {
	var r *dns.Msg
	err := ns.Do(func() error {
		c, err := net.Dial("udp", server)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		co := &dns.Conn{Conn: c}
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), qtype)
		if err := co.WriteMsg(q); err != nil {
			return err
		}
		r, err = co.ReadMsg()
		return err
	})
	return r, err
}

// endpointsCount counts the ready endpoints of a service's slices.
func endpointsCount(s *resolved.Service) int {
	n := 0
	if s == nil {
		return 0
	}
	for _, sl := range s.Slices {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready {
				n++
			}
		}
	}
	return n
}
