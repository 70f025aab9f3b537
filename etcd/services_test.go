package etcd

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"github.com/svcnet/svcnet/endpoints"
	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
	"github.com/svcnet/svcnet/resolved"
)

// testService is a valid ClusterIP Service with one slice of n endpoints.
func testService(name string, i, n int) *resolved.Service {
	var eps []endpoints.Endpoint
	for j := range n {
		eps = append(eps, endpoints.Endpoint{
			Address:    netip.AddrFrom4([4]byte{10, byte(244 + j%8), byte(i >> 8), byte(i)}),
			Conditions: endpoints.Conditions{Ready: true, Serving: true},
			NodeName:   fmt.Sprintf("node-%d", j%3),
		})
	}
	return &resolved.Service{
		Namespace: "default", Name: name, Revision: 1, Type: resolved.ClusterIP,
		ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})},
		Ports:      []resolved.Port{{Name: "http", Port: 80, TargetPort: 8080}},
		Slices: []endpoints.Slice{{Name: name + "-1", Family: 4,
			Ports:     []endpoints.Port{{Name: "http", Protocol: endpoints.TCP, Port: 8080}},
			Endpoints: eps,
		}},
	}
}

// TestServiceDelivery: what a ServicePublisher publishes reaches a node agent's
// Delivery as whole resolved States, equal to the published one, with Versions
// that grow.
func TestServiceDelivery(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	pub := NewServicePublisher(c.TestClient(t), "/test/services/", Retry{})
	st := &resolved.State{Version: 1}
	for i := range 20 {
		st.Services = append(st.Services, testService(fmt.Sprintf("svc-%02d", i), i, 3))
	}
	if err := pub.Publish(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	d := NewServiceDelivery(c.TestClient(t), "/test/services/")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	got, err := d.Next(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Services, st.Services) {
		t.Fatalf("first state differs from the published one")
	}
	next := &resolved.State{Version: 2, Services: append([]*resolved.Service(nil), st.Services[1:]...)}
	next.Services[0] = testService("svc-01", 1, 5)
	next.Services[0].Revision = 2
	if err := pub.Publish(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	for step := 0; !reflect.DeepEqual(got.Services, next.Services); step++ {
		if step == 10 {
			t.Fatalf("no state equal to the published one after %d updates", step)
		}
		prev := got.Version
		if got, err = d.Next(t.Context(), prev); err != nil {
			t.Fatal(err)
		}
		if got.Version <= prev {
			t.Fatalf("Version %d after %d", got.Version, prev)
		}
	}
}
