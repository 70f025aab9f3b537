package etcd

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
)

func sortedAddrs(as []netip.Addr) string {
	as = slices.Clone(as)
	slices.SortFunc(as, netip.Addr.Compare)
	return fmt.Sprint(as)
}

// TestRepair follows Kubernetes' repair controller (pkg/registry/core/service/
// ipallocator/controller, v1.37): a held address that is not allocated is
// allocated again, one held twice is reported, one outside the range is ignored,
// and one allocated but unheld is freed only on the third consecutive repair.
func TestRepair(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	ip := netip.MustParseAddr
	for _, layout := range []Layout{PerValue, Snapshot} {
		t.Run(layout.String(), func(t *testing.T) {
			ctx := t.Context()
			a, err := NewIPAllocator(ctx, c.TestClient(t), "/test/repair/"+layout.String(), netip.MustParsePrefix("10.0.0.0/24"), Config{Layout: layout})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			for _, s := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
				if err := a.Allocate(ctx, ip(s)); err != nil {
					t.Fatal(err)
				}
			}
			held := []netip.Addr{ip("10.0.0.2"), ip("10.0.0.2"), ip("10.0.0.4"), ip("10.9.0.1")}
			for pass := 1; pass <= 3; pass++ {
				rep, err := a.Repair(ctx, held)
				if err != nil {
					t.Fatal(err)
				}
				got := fmt.Sprintln(rep.Duplicates, rep.OutOfRange, sortedAddrs(rep.Remarked), sortedAddrs(rep.Leaked), sortedAddrs(rep.Freed))
				got = got[:len(got)-1]
				want := map[int]string{
					1: "[10.0.0.2] [10.9.0.1] [10.0.0.4] [10.0.0.1 10.0.0.3] []",
					2: "[10.0.0.2] [10.9.0.1] [] [10.0.0.1 10.0.0.3] []",
					3: "[10.0.0.2] [10.9.0.1] [] [] [10.0.0.1 10.0.0.3]",
				}[pass]
				if got != want {
					t.Errorf("repair %d: dup, out, remarked, leaked, freed = %s; want %s", pass, got, want)
				}
			}
			// 10.0.0.1 is free again, 10.0.0.4 is taken.
			if err := a.Allocate(ctx, ip("10.0.0.1")); err != nil {
				t.Errorf("Allocate(freed 10.0.0.1) = %v", err)
			}
			if err := a.Allocate(ctx, ip("10.0.0.4")); !errors.Is(err, allocator.ErrAllocated) {
				t.Errorf("Allocate(remarked 10.0.0.4) = %v; want ErrAllocated", err)
			}
		})
	}
}
