// Package resolved is the typed, versioned state between a control plane
// and its node agents: every [Service] with the addresses and ports
// allocated for it and its endpoint slices ([endpoints.Slice]), at one
// [State] version.
//
// The control plane (package controlplane) writes it; node agents
// (package nodeagent) read it and program the kernel and DNS. In one
// process it passes in memory; across machines it is encoded with
// [State.Marshal] or, one service per key, [MarshalService], and decoded
// with [Unmarshal] and [UnmarshalService].
//
// Invariants:
//   - Addresses are netip values everywhere; a Service that passes
//     [Service.Validate] can be programmed whole (no unspecified address,
//     no port without a number, at most one ClusterIP per family).
//   - A State's services are sorted by namespace and name. Its Version
//     grows with every change; each Service's Revision is the Version at
//     which it last changed, so [Diff] finds what changed without
//     comparing contents.
//   - The encoding carries [FormatVersion]. A reader refuses any other
//     version, and any field it does not know, so data from a newer
//     writer is refused with a clear error and never misread.
//
// Usage:
//
//	st := resolved.State{Version: 1, Services: []*resolved.Service{&svc}}
//	b, err := st.Marshal()
//	...
//	got, err := resolved.Unmarshal(b) // errors.Is(err, resolved.ErrUnsupportedFormat) for a newer writer
//	changed, removed := resolved.Diff(&prev, &got)
//
// States and Services handed out are immutable and safe for concurrent
// reads: consecutive States share the Services that did not change; nothing in this package starts goroutines.
package resolved
