package kubeproxy

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
	_ "unsafe" // for go:linkname

	"github.com/go-logr/logr/funcr"
	"github.com/svcnet/svcnet/internal/netnstest"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	kubeproxyconfig "k8s.io/kubernetes/pkg/proxy/apis/config"
	"k8s.io/kubernetes/pkg/proxy/nftables"
	proxyutil "k8s.io/kubernetes/pkg/proxy/util"
	"k8s.io/utils/ptr"
)

// syncProxyRules is the Proxier's sync, the function its BoundedFrequencyRunner
// calls and its own unit tests call directly. Calling it here, instead of
// running SyncLoop and waiting for the runner, times exactly one sync on a
// thread we chose (inside the namespace) with nothing of the runner's rate
// limiting in it.
//
//go:linkname syncProxyRules k8s.io/kubernetes/pkg/proxy/nftables.(*Proxier).syncProxyRules
func syncProxyRules(p *nftables.Proxier) error

// kubeProxy is kube-proxy v1.37.2's nftables Proxier for IPv4 in one network
// namespace, configured as kube-proxy's server configures it by default
// (masquerade bit 14, sync period 30 s, min sync period 1 s, NodePorts on the
// node's primary address, local traffic detected by the cluster CIDR, the
// NFTablesNetlink gate at its 1.37 default, on). Every call into it runs in
// the namespace through netnstest's NS.Do, on a locked OS thread: knftables
// runs `nft` as a child process, which inherits the thread's namespace, and
// the netlink sockets it (for listing) and the conntrack cleaner open are
// opened on that thread too.
type kubeProxy struct {
	ns  *netnstest.NS
	p   *nftables.Proxier
	log *syncLog
}

func newKubeProxy(tb testing.TB, ns *netnstest.NS) *kubeProxy {
	tb.Helper()
	k := &kubeProxy{ns: ns, log: &syncLog{}}
	ctx := klog.NewContext(context.Background(), funcr.New(k.log.add, funcr.Options{}))
	cfg := &kubeproxyconfig.KubeProxyConfiguration{
		Mode:              kubeproxyconfig.ProxyModeNFTables,
		SyncPeriod:        metav1.Duration{Duration: 30 * time.Second},
		MinSyncPeriod:     metav1.Duration{Duration: time.Second},
		NodePortAddresses: []string{nodeIP.String() + "/32"},
		NFTables:          kubeproxyconfig.KubeProxyNFTablesConfiguration{MasqueradeBit: ptr.To[int32](14)},
	}
	err := ns.Do(func() (err error) {
		k.p, err = nftables.NewProxier(ctx, cfg, v1.IPv4Protocol,
			proxyutil.NewDetectLocalByCIDR(clusterCIDR.String()), nodeName, net.IP(nodeIP.AsSlice()),
			&events.FakeRecorder{}, nil, false)
		return err
	})
	if err != nil {
		tb.Fatalf("kube-proxy NewProxier: %v", err)
	}
	return k
}

// load feeds every service and slice through the Proxier's informer
// handlers, as its informers do before they report synced; nothing is
// programmed yet.
func (k *kubeProxy) load(svcs []service) {
	k.p.OnServiceCIDRsChanged([]string{serviceCIDR.String()})
	for _, s := range svcs {
		k.p.OnServiceAdd(s.svc)
		k.p.OnEndpointSliceAdd(s.slice)
	}
	k.p.OnServiceSynced() // not initialised yet: returns at once
}

// fullSync is kube-proxy's first sync: OnEndpointSlicesSynced marks the
// Proxier initialised and syncs at once, a full sync, as when kube-proxy
// starts. start and stop bracket it inside the namespace, so that entering
// the namespace is not timed.
func (k *kubeProxy) fullSync(start, stop func()) error {
	return k.ns.Do(func() error {
		start()
		k.p.OnEndpointSlicesSynced()
		stop()
		return k.log.failure()
	})
}

// change hands the Proxier one changed slice, as its informer would, and
// runs the sync that follows (a partial sync); start and stop bracket both.
func (k *kubeProxy) change(old, cur *discovery.EndpointSlice, start, stop func()) error {
	return k.ns.Do(func() error {
		start()
		k.p.OnEndpointSliceUpdate(old, cur)
		err := syncProxyRules(k.p)
		stop()
		if err != nil {
			return fmt.Errorf("kube-proxy sync: %w\n%s", err, k.log.text())
		}
		return k.log.failure()
	})
}

// syncLog keeps what the Proxier logs (at its default verbosity: what
// kube-proxy prints without -v), so that a failed sync, which it only logs,
// fails the benchmark.
type syncLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *syncLog) add(prefix, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, prefix+" "+args)
}

// text returns the lines logged since the last call and forgets them.
func (l *syncLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	text := strings.Join(l.lines, "\n")
	l.lines = l.lines[:0]
	return text
}

// failure returns an error carrying the log if kube-proxy logged a failed
// sync since the last call, and forgets the lines either way. Other errors
// do not fail a run: kube-proxy logs "Failed to list existing sets" on the
// first sync into a namespace without its table (its netlink listing
// reports the missing table as an error) and carries on, as it does on a
// fresh node.
func (l *syncLog) failure() error {
	text := l.text()
	if strings.Contains(text, `"msg"="Sync failed"`) {
		return fmt.Errorf("kube-proxy sync failed:\n%s", text)
	}
	return nil
}
