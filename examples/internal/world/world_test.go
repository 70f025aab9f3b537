package world

import (
	"context"
	"fmt"
	"testing"
)

func TestMain(m *testing.M) { RunTests(m) }

func TestWorldRoutes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := New(ctx, "pod1", "pod2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	for name, h := range w.Pods {
		if err := h.ServeHTTP(ctx, 8080, name); err != nil {
			t.Fatal(err)
		}
	}
	for name, h := range w.Pods {
		for _, from := range []*Host{w.Client, w.Node} {
			url := fmt.Sprintf("http://%s:8080/", h.Addr)
			pod, _, err := from.Get(ctx, url)
			if err != nil || pod != name {
				t.Errorf("from %s: Get(%q) = %q, %v; want %q", from.Name, url, pod, err, name)
			}
		}
	}
	if _, _, err := w.External.Get(ctx, fmt.Sprintf("http://%s:8080/", w.Pods["pod1"].Addr)); err != nil {
		t.Errorf("external → pod1 through the node: %v", err)
	}
}
