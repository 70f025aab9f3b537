package coredns

import (
	"context"
	"errors"
	"testing"

	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/kubernetes/object"
	api "k8s.io/api/core/v1"
	meta "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"
)

// controller stands in for CoreDNS's dnsControl, whose constructor is
// unexported: it lists the objects of a (fake) clientset once, converts
// them with CoreDNS's own converters (object.ToService,
// object.EndpointSliceToEndpoints, object.ToPod, object.ToNamespace) and
// serves the same indexes as dnsControl's informers (by "name.namespace",
// by IP). Everything that answers a query is CoreDNS's code.
type controller struct {
	svcs     []*object.Service
	eps      []*object.Endpoints
	pods     []*object.Pod
	ns       map[string]*object.Namespace
	modified int64
}

func newController(t testing.TB, c clientset.Interface) *controller {
	t.Helper()
	ctx := context.Background()
	k := &controller{ns: map[string]*object.Namespace{}, modified: 1}
	svcs, err := c.CoreV1().Services("").List(ctx, meta.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range svcs.Items {
		o, err := object.ToService(&svcs.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		k.svcs = append(k.svcs, o.(*object.Service))
	}
	slices, err := c.DiscoveryV1().EndpointSlices("").List(ctx, meta.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range slices.Items {
		o, err := object.EndpointSliceToEndpoints(&slices.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		k.eps = append(k.eps, o.(*object.Endpoints))
	}
	pods, err := c.CoreV1().Pods("").List(ctx, meta.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		if o, err := object.ToPod(&pods.Items[i]); err == nil {
			k.pods = append(k.pods, o.(*object.Pod))
		}
	}
	nss, err := c.CoreV1().Namespaces().List(ctx, meta.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range nss.Items {
		o, err := object.ToNamespace(&nss.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		// The converters clear the object they read (to save memory in
		// an informer's cache): read the name from the result.
		ns := o.(*object.Namespace)
		k.ns[ns.Name] = ns
	}
	return k
}

func (k *controller) ServiceList() []*object.Service             { return k.svcs }
func (k *controller) EndpointsList() []*object.Endpoints         { return k.eps }
func (k *controller) ServiceImportList() []*object.ServiceImport { return nil }
func (k *controller) SvcImportIndex(string) []*object.ServiceImport {
	return nil
}
func (k *controller) McEpIndex(string) []*object.MultiClusterEndpoints { return nil }

func (k *controller) SvcIndex(idx string) (out []*object.Service) {
	for _, s := range k.svcs {
		if s.Index == idx {
			out = append(out, s)
		}
	}
	return out
}

func (k *controller) SvcIndexReverse(ip string) (out []*object.Service) {
	for _, s := range k.svcs {
		for _, a := range s.ClusterIPs {
			if a == ip {
				out = append(out, s)
			}
		}
	}
	return out
}

func (k *controller) SvcExtIndexReverse(ip string) (out []*object.Service) {
	for _, s := range k.svcs {
		for _, a := range s.ExternalIPs {
			if a == ip {
				out = append(out, s)
			}
		}
	}
	return out
}

func (k *controller) PodIndex(ip string) (out []*object.Pod) {
	for _, p := range k.pods {
		for _, a := range p.PodIPs {
			if a == ip {
				out = append(out, p)
			}
		}
	}
	return out
}

func (k *controller) EpIndex(idx string) (out []*object.Endpoints) {
	for _, e := range k.eps {
		if e.Index == idx {
			out = append(out, e)
		}
	}
	return out
}

func (k *controller) EpIndexReverse(ip string) (out []*object.Endpoints) {
	for _, e := range k.eps {
		for _, a := range e.IndexIP {
			if a == ip {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func (k *controller) GetNodeByName(context.Context, string) (*api.Node, error) {
	return nil, errors.New("no nodes")
}

func (k *controller) GetNamespaceByName(name string) (*object.Namespace, error) {
	if ns, ok := k.ns[name]; ok {
		return ns, nil
	}
	return nil, errors.New("namespace not found")
}

func (k *controller) Run()                                   {}
func (k *controller) HasSynced() bool                        { return true }
func (k *controller) Stop() error                            { return nil }
func (k *controller) Modified(kubernetes.ModifiedMode) int64 { return k.modified }
