package resolved_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/resolved"
)

func Example() {
	web := resolved.Service{
		Namespace: "shop", Name: "web", Revision: 1, Type: resolved.NodePort,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports:      []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080, NodePort: 30080}},
		Slices: []endpoints.Slice{{Name: "web-1", Family: 4,
			Ports:     []endpoints.Port{{Name: "http", Protocol: endpoints.TCP, Port: 8080}},
			Endpoints: []endpoints.Endpoint{{Address: netip.MustParseAddr("10.244.1.2"), Conditions: endpoints.Conditions{Ready: true, Serving: true}}},
		}},
	}
	st := resolved.State{Version: 1, Services: []*resolved.Service{&web}}
	b, err := st.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := resolved.Unmarshal(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := got.Lookup(resolved.Ref{Namespace: "shop", Name: "web"})
	fmt.Println(s.Type, s.ClusterIPs[0], s.Ports[0].NodePort, s.Slices[0].Endpoints[0].Address)

	_, err = resolved.Unmarshal([]byte(`{"format":2,"version":7}`))
	fmt.Println(errors.Is(err, resolved.ErrUnsupportedFormat))
	// Output:
	// NodePort 10.96.0.10 30080 10.244.1.2
	// true
}

func ExampleDiff() {
	prev := resolved.State{Version: 3, Services: []*resolved.Service{
		{Namespace: "a", Name: "db", Revision: 1}, {Namespace: "a", Name: "web", Revision: 2},
	}}
	next := resolved.State{Version: 4, Services: []*resolved.Service{
		{Namespace: "a", Name: "web", Revision: 4}, {Namespace: "b", Name: "api", Revision: 4},
	}}
	changed, removed := resolved.Diff(&prev, &next)
	for _, s := range changed {
		fmt.Println("changed", s.Ref())
	}
	fmt.Println("removed", removed)
	// Output:
	// changed a/web
	// changed b/api
	// removed [a/db]
}

func ExampleLatest() {
	var l resolved.Latest
	ctx := context.Background()
	_ = l.Publish(ctx, &resolved.State{Version: 1})
	_ = l.Publish(ctx, &resolved.State{Version: 2})
	st, _ := l.Next(ctx, 0) // a reader that fell behind gets the newest
	fmt.Println(st.Version)
	// Output: 2
}
