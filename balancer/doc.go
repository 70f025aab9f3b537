// Package balancer decides which backend serves one request or connection, and
// builds the consistent-hash tables a kernel dataplane consumes: [MaglevTable]
// gives, for every slot of a Maglev table, the backend that owns it — the
// dataplane package installs such a table as an nftables map. The package
// itself programs nothing.
//
// A [Picker] is an immutable snapshot of a backend set, built off the hot
// path and safe for concurrent use; a [Holder] swaps pickers atomically so
// Pick never takes a lock. Strategies: [NewRoundRobin], [NewWeightedRoundRobin],
// [NewRandom], [NewWeightedRandom], [NewLeastRequest], [NewRingHash],
// [NewMaglev], and the [Affinity] wrapper for ClientIP session affinity.
//
// The balancer takes the backends it is given. Kubernetes readiness — ready
// endpoints, else serving-and-terminating ones — is decided once, by
// endpoints.AppendUsable, before backends reach a Picker. [Backend.Unhealthy]
// is a different, optional notion: the caller's own health checking, with
// Envoy's panic threshold ([Config.PanicThreshold]). With nothing to choose,
// Pick returns [ErrNoBackend].
//
// Usage:
//
//	var h balancer.Holder
//	p, err := balancer.NewMaglev(backends, balancer.Config{})
//	if err != nil { ... }
//	h.Store(p)
//	res, err := h.Pick(&balancer.Request{Hash: key})
//	defer res.Done()
package balancer
