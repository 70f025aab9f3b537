package kubeproxy

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/svcnet/svcnet/dataplane"
	"github.com/svcnet/svcnet/internal/netnstest"
)

// TestBothProgramTheSameServices checks the harness itself, at a small
// scale: both proxies are given the same services, each programs every
// ClusterIP into its own namespace, and after one endpoint is replaced each
// kernel holds the new pod and no longer the old one. Without it a fast
// figure could come from a proxy that programmed nothing.
func TestBothProgramTheSameServices(t *testing.T) {
	netnstest.Require(t)
	const n, changed = 50, 7
	svcs := genServices(n, 3)
	cur := withEndpointReplaced(svcs[changed].slice, changed)
	oldAddr, newAddr := svcs[changed].slice.Endpoints[0].Addresses[0], cur.Endpoints[0].Addresses[0]
	noop := func() {}

	kns := nodeNS(t)
	kp := newKubeProxy(t, kns)
	kp.load(svcs)
	if err := kp.fullSync(noop, noop); err != nil {
		t.Fatal(err)
	}
	if got := mapElements(t, kns, "ip", "kube-proxy", "service-ips"); got != n {
		t.Errorf("kube-proxy programmed %d ClusterIP frontends, want %d", got, n)
	}
	if err := kp.change(svcs[changed].slice, cur, noop, noop); err != nil {
		t.Fatal(err)
	}

	sns := nodeNS(t)
	sv := newSvcnet(t, sns)
	sv.load(svcs)
	ctx := context.Background()
	if _, err := sv.dp.Sync(ctx, sv.svcs); err != nil {
		t.Fatal(err)
	}
	if got := mapElements(t, sns, "inet", "svcnet", "service-ips4"); got != n {
		t.Errorf("svcnet programmed %d ClusterIP frontends, want %d", got, n)
	}
	svcs[changed].slice = cur
	if _, err := sv.dp.Update(ctx, []dataplane.ServicePort{servicePort(svcs[changed])}, nil); err != nil {
		t.Fatal(err)
	}

	// svcnet: the old pod is gone from the whole table.
	out := listTable(t, sns, "inet", "svcnet")
	if !strings.Contains(out, newAddr) || strings.Contains(out, oldAddr+" ") {
		t.Errorf("svcnet after the change: want the new pod %s and not the old %s:\n%s", newAddr, oldAddr, out)
	}
	// kube-proxy: the service's chain picks among the new pod and not the
	// old one (its rule is "dnat ip to numgen random mod N map { ... }").
	pick, inChain := "", false
	for _, line := range strings.Split(listTable(t, kns, "ip", "kube-proxy"), "\n") {
		line = strings.TrimSpace(line)
		if inChain && strings.Contains(line, "numgen random") {
			pick = line
		}
		inChain = strings.HasPrefix(line, "chain service-") &&
			strings.HasSuffix(line, "-bench/"+svcs[changed].svc.Name+"/tcp/http {")
	}
	if !strings.Contains(pick, newAddr+" . ") || strings.Contains(pick, oldAddr+" . ") {
		t.Errorf("kube-proxy after the change: want the new pod %s and not the old %s, got %q",
			newAddr, oldAddr, pick)
	}
}

func listTable(t *testing.T, ns *netnstest.NS, family, table string) string {
	t.Helper()
	out, err := ns.Exec("nft", "list", "table", family, table)
	if err != nil {
		t.Fatalf("nft list table %s %s: %v: %s", family, table, err, out)
	}
	return out
}

// mapElements counts the elements of one map in ns's kernel, read with nft.
func mapElements(t *testing.T, ns *netnstest.NS, family, table, name string) int {
	t.Helper()
	out, err := ns.Exec("nft", "-j", "list", "map", family, table, name)
	if err != nil {
		t.Fatalf("nft list map %s %s %s: %v: %s", family, table, name, err, out)
	}
	var doc struct {
		Nftables []struct {
			Map *struct {
				Elem []json.RawMessage `json:"elem"`
			} `json:"map"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft -j output: %v", err)
	}
	for _, o := range doc.Nftables {
		if o.Map != nil {
			return len(o.Map.Elem)
		}
	}
	t.Fatalf("no map %s in nft's output", name)
	return 0
}
