package source_test

import (
	"fmt"

	"github.com/svcnet/svcnet/examples/internal/source"
	"github.com/svcnet/svcnet/examples/manifests"
)

func ExampleInput() {
	set := manifests.Set{Services: []manifests.Service{{
		Meta:     manifests.Meta{Namespace: "shop", Name: "web"},
		Type:     manifests.NodePort,
		Selector: map[string]string{"app": "web"},
		Ports:    []manifests.ServicePort{{Name: "http", Port: 80, TargetPort: manifests.TargetPort{Number: 8080}}},
	}}}
	in := source.Input(&set)
	s := in.Services[0]
	fmt.Println(s.Spec.Ref(), s.Spec.Type, s.Spec.Ports[0].Port, s.Spec.Ports[0].TargetPort, s.Selector)
	// Output: shop/web NodePort 80 8080 map[app:web]
}
