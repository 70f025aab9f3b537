// Package endpointslice runs Kubernetes' own EndpointSlice reconciler
// (k8s.io/endpointslice v0.37.2, Kubernetes 1.37) with a fake clientset
// side by side with svcnet's endpoints package on generated services and
// pod sets, and counts where they agree. See README.md for the results and
// the classification of every remaining difference.
package endpointslice

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/svcnet/svcnet/endpoints"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"k8s.io/endpointslice"
	endpointsliceutil "k8s.io/endpointslice/util"
)

var (
	cases = flag.Int("cases", 2000, "generated services")
	seed  = flag.Uint64("seed", 1, "generator seed")
)

const controllerName = endpoints.ManagedBy

// counts is one comparison's tally: how often both sides agreed, and the
// inputs of the first few disagreements.
type counts struct {
	agree, differ int
	examples      []string
}

func (c *counts) add(ok bool, format string, args ...any) {
	if ok {
		c.agree++
		return
	}
	c.differ++
	if len(c.examples) < 3 {
		c.examples = append(c.examples, fmt.Sprintf(format, args...))
	}
}

var checks = []string{
	"endpoints (content of all slices, by family and port set)",
	"labels of every slice",
	"placeholders per family",
	"slice sizes, svcnet repacking off",
	"slice sizes, svcnet default (repacking on)",
	"slice count per family and port set, svcnet repacking off",
	"slice sizes, Kubernetes against itself (same input, second run)",
	"slice count per family and port set, Kubernetes against itself",
	"slice sizes, svcnet repacking off, fresh reconcile (step 0) only",
	"second reconcile of unchanged input writes nothing: Kubernetes",
	"second reconcile of unchanged input writes nothing: svcnet",
}

func TestDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(*seed, 1))
	tally := make([]counts, len(checks))
	for i := range *cases {
		c := generate(rng, i)
		runCase(t, &c, rng, tally)
	}
	for i, name := range checks {
		t.Logf("%-66s agree %5d  differ %5d", name, tally[i].agree, tally[i].differ)
		for _, ex := range tally[i].examples {
			t.Logf("    e.g. %s", ex)
		}
	}
}

// testCase is one generated service with its pods and nodes.
type testCase struct {
	svc   *corev1.Service
	pods  []*corev1.Pod
	nodes []*corev1.Node
	max   int
}

func runCase(t *testing.T, c *testCase, rng *rand.Rand, tally []counts) {
	k, again := newKube(t, c), newKube(t, c)
	ours := newOurs(c, -1)
	repacked := newOurs(c, 0)
	for step := range 2 {
		if step == 1 {
			churn(rng, c)
		}
		k.reconcile(t, c)
		again.reconcile(t, c)
		ours.reconcile(t, c)
		repacked.reconcile(t, c)
		kSlices := k.list(t)
		oSlices := ours.view()
		what := fmt.Sprintf("service %s step %d (%d pods, max %d)", c.svc.Name, step, len(c.pods), c.max)
		tally[0].add(slices.Equal(endpointKeys(kSlices), endpointKeys(oSlices)), "%s", what)
		tally[1].add(slices.Equal(labelKeys(kSlices), labelKeys(oSlices)), "%s: %v vs %v", what, labelKeys(kSlices), labelKeys(oSlices))
		tally[2].add(slices.Equal(placeholders(kSlices), placeholders(oSlices)), "%s: %v vs %v", what, placeholders(kSlices), placeholders(oSlices))
		tally[3].add(maps.Equal(shapes(kSlices), shapes(oSlices)), "%s: %v vs %v", what, shapes(kSlices), shapes(oSlices))
		tally[4].add(maps.Equal(shapes(kSlices), shapes(repacked.view())), "%s: %v vs %v", what, shapes(kSlices), shapes(repacked.view()))
		tally[5].add(maps.Equal(counted(kSlices), counted(oSlices)), "%s: %v vs %v", what, counted(kSlices), counted(oSlices))
		kAgain := again.list(t)
		tally[6].add(maps.Equal(shapes(kSlices), shapes(kAgain)), "%s: %v vs %v", what, shapes(kSlices), shapes(kAgain))
		tally[7].add(maps.Equal(counted(kSlices), counted(kAgain)), "%s: %v vs %v", what, counted(kSlices), counted(kAgain))
		if step == 0 {
			tally[8].add(maps.Equal(shapes(kSlices), shapes(oSlices)), "%s: %v vs %v", what, shapes(kSlices), shapes(oSlices))
		}
	}
	tally[9].add(k.reconcile(t, c) == 0, "service %s", c.svc.Name)
	tally[10].add(ours.reconcile(t, c) == 0 && repacked.reconcile(t, c) == 0, "service %s", c.svc.Name)
}

// slice is either side's slice reduced to what the comparison reads.
type slice struct {
	family    string
	ports     string // sorted "name/proto/port/app" list
	endpoints []string
	labels    string
}

func endpointKeys(ss []slice) []string {
	var out []string
	for _, s := range ss {
		for _, e := range s.endpoints {
			out = append(out, s.family+" "+s.ports+" "+e)
		}
	}
	slices.Sort(out)
	return out
}

func labelKeys(ss []slice) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.labels)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func placeholders(ss []slice) []string {
	var out []string
	for _, s := range ss {
		if len(s.endpoints) == 0 && s.ports == "" {
			out = append(out, s.family)
		}
	}
	slices.Sort(out)
	return out
}

// shapes maps each family and port set to its sorted slice sizes.
func shapes(ss []slice) map[string]string {
	sizes := map[string][]int{}
	for _, s := range ss {
		k := s.family + " " + s.ports
		sizes[k] = append(sizes[k], len(s.endpoints))
	}
	out := map[string]string{}
	for k, v := range sizes {
		sort.Ints(v)
		out[k] = fmt.Sprint(v)
	}
	return out
}

// counted maps each family and port set to its number of slices.
func counted(ss []slice) map[string]int {
	n := map[string]int{}
	for _, s := range ss {
		n[s.family+" "+s.ports]++
	}
	return n
}

func renderLabels(l map[string]string) string {
	var b []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		b = append(b, k+"="+l[k])
	}
	return strings.Join(b, ",")
}

func renderEndpoint(addr string, ready, serving, terminating bool, host, node, zone, ref, hintZone, hintNode string) string {
	return fmt.Sprintf("%s r=%v s=%v t=%v host=%s node=%s zone=%s ref=%s hints=%s/%s",
		addr, ready, serving, terminating, host, node, zone, ref, hintZone, hintNode)
}

// kube runs Kubernetes' reconciler on a fake clientset that names created
// slices as the API server does for generateName.
type kube struct {
	client *fake.Clientset
	r      *endpointslice.Reconciler
}

func newKube(t *testing.T, c *testCase) *kube {
	client := fake.NewClientset()
	n := 0
	client.PrependReactor("create", "endpointslices", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s := a.(k8stesting.CreateAction).GetObject().(*discovery.EndpointSlice)
		if s.Name == "" {
			n++
			s.Name = fmt.Sprintf("%s%05d", s.GenerateName, n)
		}
		return false, nil, nil
	})
	indexer := informers.NewSharedInformerFactory(client, 0).Core().V1().Nodes().Informer().GetIndexer()
	for _, node := range c.nodes {
		if err := indexer.Add(node); err != nil {
			t.Fatal(err)
		}
	}
	r := endpointslice.NewReconciler(client, corelisters.NewNodeLister(indexer), int32(c.max),
		endpointsliceutil.NewEndpointSliceTracker(), nil, record.NewFakeRecorder(100), controllerName,
		endpointslice.WithPreferSameTrafficDistributionEnabled(true))
	return &kube{client: client, r: r}
}

// reconcile runs one pass over the slices the fake API holds and returns
// how many writes it made.
func (k *kube) reconcile(t *testing.T, c *testCase) int {
	sel := labels.SelectorFromSet(c.svc.Spec.Selector)
	var pods []*corev1.Pod
	for _, p := range c.pods {
		if p.Namespace == c.svc.Namespace && sel.Matches(labels.Set(p.Labels)) {
			pods = append(pods, p)
		}
	}
	list, err := k.client.DiscoveryV1().EndpointSlices(c.svc.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	existing := make([]*discovery.EndpointSlice, len(list.Items))
	for i := range list.Items {
		existing[i] = &list.Items[i]
	}
	k.client.ClearActions()
	if err := k.r.Reconcile(logr.Discard(), c.svc, pods, existing, time.Now()); err != nil {
		t.Fatalf("service %s: Kubernetes reconcile: %v", c.svc.Name, err)
	}
	writes := 0
	for _, a := range k.client.Actions() {
		if v := a.GetVerb(); v == "create" || v == "update" || v == "delete" {
			writes++
		}
	}
	return writes
}

func (k *kube) list(t *testing.T) []slice {
	list, err := k.client.DiscoveryV1().EndpointSlices("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []slice
	for _, s := range list.Items {
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s/%s/%d/%s", deref(p.Name), deref(p.Protocol), deref(p.Port), deref(p.AppProtocol)))
		}
		slices.Sort(ports)
		sl := slice{family: string(s.AddressType), ports: strings.Join(ports, ","), labels: renderLabels(s.Labels)}
		for _, e := range s.Endpoints {
			ref := ""
			if e.TargetRef != nil {
				ref = e.TargetRef.Namespace + "/" + e.TargetRef.Name
			}
			hz, hn := "", ""
			if e.Hints != nil {
				for _, z := range e.Hints.ForZones {
					hz += z.Name
				}
				for _, n := range e.Hints.ForNodes {
					hn += n.Name
				}
			}
			addr := netip.MustParseAddr(e.Addresses[0]).String()
			sl.endpoints = append(sl.endpoints, renderEndpoint(addr, deref(e.Conditions.Ready), deref(e.Conditions.Serving),
				deref(e.Conditions.Terminating), deref(e.Hostname), deref(e.NodeName), deref(e.Zone), ref, hz, hn))
		}
		out = append(out, sl)
	}
	return out
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// ours runs svcnet's Desired and Reconcile and applies the plans to its
// own store of slices.
type ours struct {
	cfg    endpoints.Config
	slices []endpoints.Slice
}

func newOurs(c *testCase, overhead int) *ours {
	return &ours{cfg: endpoints.Config{MaxEndpointsPerSlice: c.max, SliceOverheadPercent: overhead}}
}

func (o *ours) reconcile(t *testing.T, c *testCase) int {
	svc, ws := convert(c)
	plan, err := endpoints.Reconcile(o.cfg, &svc, endpoints.Desired(&svc, ws), o.slices)
	if err != nil {
		t.Fatalf("service %s: svcnet reconcile: %v", c.svc.Name, err)
	}
	var next []endpoints.Slice
	for _, s := range o.slices {
		if !slices.Contains(plan.Delete, s.Name) && !slices.ContainsFunc(plan.Update, func(u endpoints.Slice) bool { return u.Name == s.Name }) {
			next = append(next, s)
		}
	}
	o.slices = append(append(next, plan.Update...), plan.Create...)
	return len(plan.Create) + len(plan.Update) + len(plan.Delete)
}

func (o *ours) view() []slice {
	var out []slice
	for _, s := range o.slices {
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s/%s/%d/%s", p.Name, p.Protocol, p.Port, p.AppProtocol))
		}
		slices.Sort(ports)
		sl := slice{family: s.Family.String(), ports: strings.Join(ports, ","), labels: renderLabels(s.Labels)}
		for _, e := range s.Endpoints {
			ref := ""
			if e.TargetRef != (endpoints.Ref{}) {
				ref = e.TargetRef.Namespace + "/" + e.TargetRef.Name
			}
			sl.endpoints = append(sl.endpoints, renderEndpoint(e.Address.String(), e.Conditions.Ready, e.Conditions.Serving,
				e.Conditions.Terminating, e.Hostname, e.NodeName, e.Zone, ref, e.Hints.ForZone, e.Hints.ForNode))
		}
		out = append(out, sl)
	}
	return out
}

// convert maps the Kubernetes objects to svcnet's inputs, as an embedder
// would.
func convert(c *testCase) (endpoints.Service, []endpoints.Workload) {
	s := c.svc
	svc := endpoints.Service{Namespace: s.Namespace, Name: s.Name, Selector: s.Spec.Selector, Labels: s.Labels,
		PublishNotReadyAddresses: s.Spec.PublishNotReadyAddresses, Headless: s.Spec.ClusterIP == corev1.ClusterIPNone}
	for _, f := range s.Spec.IPFamilies {
		fam, _ := endpoints.ParseIPFamily(string(f))
		svc.Families = append(svc.Families, fam)
	}
	if td := s.Spec.TrafficDistribution; td != nil {
		svc.TrafficDistribution = endpoints.TrafficDistribution(*td)
	}
	for _, p := range s.Spec.Ports {
		proto, _ := endpoints.ParseProtocol(string(p.Protocol))
		sp := endpoints.ServicePort{Name: p.Name, Protocol: proto, Port: uint16(p.Port), AppProtocol: deref(p.AppProtocol)}
		if p.TargetPort.Type == intstr.String {
			sp.TargetPort.Name = p.TargetPort.StrVal
		} else {
			sp.TargetPort.Number = uint16(p.TargetPort.IntVal)
		}
		svc.Ports = append(svc.Ports, sp)
	}
	zones := map[string]string{}
	for _, n := range c.nodes {
		zones[n.Name] = n.Labels[corev1.LabelTopologyZone]
	}
	ws := make([]endpoints.Workload, 0, len(c.pods))
	for _, p := range c.pods {
		w := endpoints.Workload{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, Node: p.Spec.NodeName,
			Zone: zones[p.Spec.NodeName], Hostname: p.Spec.Hostname, Subdomain: p.Spec.Subdomain,
			Phase: endpoints.Phase(p.Status.Phase), Deleting: p.DeletionTimestamp != nil}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady {
				w.Ready = cond.Status == corev1.ConditionTrue
			}
		}
		for _, ip := range p.Status.PodIPs {
			w.IPs = append(w.IPs, netip.MustParseAddr(ip.IP))
		}
		for _, ct := range p.Spec.Containers {
			for _, cp := range ct.Ports {
				proto, _ := endpoints.ParseProtocol(string(cp.Protocol))
				w.Ports = append(w.Ports, endpoints.ContainerPort{Name: cp.Name, Protocol: proto, Number: uint16(cp.ContainerPort)})
			}
		}
		ws = append(ws, w)
	}
	return svc, ws
}
