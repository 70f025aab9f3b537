package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/examples/internal/world"
	"github.com/svcnet/svcnet/examples/proxy/node"
)

// Env is a running world with the proxy serving it.
type Env struct {
	World *world.World
	Dir   string
	Proxy *node.Proxy
	Cfg   node.Config
	pods  []string
	stop  func() error
}

// PodsYAML renders the pods' manifests, as kubelet would report them.
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
          containerPort: 80
status:
  phase: Running
  podIP: %s
  conditions:
    - type: Ready
      status: "True"
`, n, n, w.Pods[n].Addr)
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

const nodeYAML = `apiVersion: v1
kind: Node
metadata:
  name: node
  labels:
    topology.kubernetes.io/zone: zone-a
status:
  addresses:
    - type: InternalIP
      address: 192.168.77.1
`

// Start builds the world with pods, writes the manifests to a temporary
// directory and starts the proxy against the node namespace. Stop with
// Env.Close.
func Start(ctx context.Context, log *slog.Logger, pods ...string) (env *Env, err error) {
	w, err := world.New(ctx, pods...)
	if err != nil {
		return nil, err
	}
	env = &Env{World: w, pods: pods}
	defer func() {
		if err != nil {
			env.Close()
			env = nil
		}
	}()
	for _, name := range pods {
		if err := w.Pods[name].ServeHTTP(ctx, 80, name); err != nil {
			return nil, err
		}
	}
	if env.Dir, err = os.MkdirTemp("", "svcnet-demo-"); err != nil {
		return nil, err
	}
	for name, body := range map[string]string{"services.yaml": ServicesYAML, "pods.yaml": PodsYAML(w, pods), "node.yaml": nodeYAML} {
		if err := os.WriteFile(filepath.Join(env.Dir, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	env.Cfg = node.Config{
		Manifests: env.Dir, NetNS: w.Node.NetNSPath(), NodeName: "node",
		DNSListen: net.JoinHostPort(world.NodePodSide.String(), "53"),
		LBPool:    []allocator.AddrRange{allocator.MustParseAddrRange(world.LBPool)},
	}
	return env, env.StartProxy(ctx, log)
}

// StartProxy starts (or restarts) the proxy and waits for its first sync.
func (e *Env) StartProxy(ctx context.Context, log *slog.Logger) error {
	prog, err := node.NewDataplane(e.Cfg, log)
	if err != nil {
		return err
	}
	p, err := node.New(e.Cfg, node.Options{Log: log, Programmer: prog})
	if err != nil {
		prog.Close()
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		err := p.Run(ctx)
		prog.Close()
		done <- err
	}()
	e.Proxy = p
	e.stop = func() error {
		cancel()
		return <-done
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(p.Services()) > 0 && p.DNSAddr() != "" {
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

// Service returns the named service as the proxy resolved it.
func (e *Env) Service(name string) (node.ServiceView, bool) {
	for _, v := range e.Proxy.Services() {
		if v.Name == name && v.Namespace == "default" {
			return v, true
		}
	}
	return node.ServiceView{}, false
}

// WriteManifest replaces one manifest file atomically.
func (e *Env) WriteManifest(name, body string) error {
	tmp := filepath.Join(e.Dir, ".tmp-"+name)
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(e.Dir, name))
}

// Spread sends n requests from h to url and counts answers per pod.
func Spread(ctx context.Context, h *world.Host, url string, n int) (map[string]int, error) {
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		pod, _, err := h.Get(ctx, url)
		if err != nil {
			return counts, fmt.Errorf("request %d to %s: %w", i+1, url, err)
		}
		counts[pod]++
	}
	return counts, nil
}

// Query asks the DNS server at server from inside h.
func Query(h *world.Host, server, name string, qtype uint16) (*dns.Msg, error) {
	c, err := h.DialContext(context.Background(), "udp", server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	co := &dns.Conn{Conn: c}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	if err := co.WriteMsg(q); err != nil {
		return nil, err
	}
	return co.ReadMsg()
}

func fmtCounts(c map[string]int, pods []string) string {
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s %2d", p, c[p]))
	}
	return strings.Join(parts, "   ")
}

// Run is the demo: it builds the world, shows each behaviour, checks it,
// and removes everything.
func Run(ctx context.Context, out, logw io.Writer) (err error) {
	start := time.Now()
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pods := []string{"pod1", "pod2", "pod3"}
	env, err := Start(ctx, log, pods...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := env.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintf(out, "\ncleaned up: namespaces removed; done in %.1fs\n", time.Since(start).Seconds())
		}
	}()
	w := env.World
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	say("svcnet demo: node, %s, client and an outside host in their own network namespaces", strings.Join(pods, ", "))
	say("manifests in %s; proxy programming the node namespace, DNS on %s\n", env.Dir, env.Proxy.DNSAddr())

	svc, _ := env.Service("my-service")
	if len(svc.ClusterIPs) == 0 {
		return errors.New("my-service got no ClusterIP")
	}
	cip := svc.ClusterIPs[0]
	say("1. my-service was given ClusterIP %s (from %s)", cip, node.DefaultServiceCIDR)

	r, err := Query(w.Client, env.Proxy.DNSAddr(), "my-service.default.svc.cluster.local", dns.TypeA)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	if len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != cip.String() {
		return fmt.Errorf("dns: my-service.default.svc.cluster.local = %v; want %s", r.Answer, cip)
	}
	say("2. DNS from the client: my-service.default.svc.cluster.local. A %s", r.Answer[0].(*dns.A).A)

	url := fmt.Sprintf("http://%s/", cip)
	counts, err := Spread(ctx, w.Client, url, 30)
	if err != nil {
		return err
	}
	say("3. 30 requests from the client to %s:80   %s", cip, fmtCounts(counts, pods))
	for _, p := range pods {
		if counts[p] == 0 {
			return fmt.Errorf("no request reached %s: %v", p, counts)
		}
	}

	sticky, _ := env.Service("sticky")
	counts, err = Spread(ctx, w.Client, fmt.Sprintf("http://%s/", sticky.ClusterIPs[0]), 10)
	if err != nil {
		return err
	}
	if len(counts) != 1 {
		return fmt.Errorf("ClientIP affinity: answers from %v; want one pod", counts)
	}
	for p := range counts {
		say("4. sessionAffinity: ClientIP on sticky (%s): 10 requests, all answered by %s", sticky.ClusterIPs[0], p)
	}

	lb, _ := env.Service("web")
	if len(lb.LoadBalancerIPs) == 0 || lb.Ports[0].NodePort == 0 {
		return fmt.Errorf("web: LoadBalancer %v node port %d; want both", lb.LoadBalancerIPs, lb.Ports[0].NodePort)
	}
	np := netip.AddrPortFrom(world.NodeExternal, lb.Ports[0].NodePort)
	lbAddr := netip.AddrPortFrom(lb.LoadBalancerIPs[0], 80)
	for _, target := range []struct{ step, what, addr string }{{"5", "NodePort", np.String()}, {"6", "LoadBalancer", lbAddr.String()}} {
		counts, err := Spread(ctx, w.External, "http://"+target.addr+"/", 9)
		if err != nil {
			return fmt.Errorf("%s from outside: %w", target.what, err)
		}
		say("%s. from the outside host, %-12s %-20s 9 requests   %s", target.step, target.what, target.addr, fmtCounts(counts, pods))
	}

	keep := pods[:2]
	changed := time.Now()
	if err := env.WriteManifest("pods.yaml", PodsYAML(w, keep)); err != nil {
		return err
	}
	var moved time.Duration
	for {
		if v, _ := env.Service("my-service"); endpointsCount(v) == len(keep) {
			moved = time.Since(changed)
			break
		}
		if time.Since(changed) > 3*time.Second {
			return errors.New("pod3 still an endpoint 3s after its manifest was removed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	counts, err = Spread(ctx, w.Client, url, 30)
	if err != nil {
		return err
	}
	say("7. pod3 removed from pods.yaml: rules updated %.0f ms later; 30 requests   %s", float64(moved.Microseconds())/1000, fmtCounts(counts, pods))
	if counts["pod3"] != 0 || moved > time.Second {
		return fmt.Errorf("after removing pod3: %v after %v; want no pod3 within 1s", counts, moved)
	}
	return nil
}

func endpointsCount(v node.ServiceView) int {
	n := 0
	for _, g := range v.Groups {
		n += len(g.Endpoints)
	}
	return n
}
