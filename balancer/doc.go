// Package balancer decides which backend serves one request or connection
// and computes the consistent-hash tables that the kernel dataplane installs.
//
// A [Picker] is an immutable snapshot of a backend set, built off the hot
// path and safe for concurrent use; a [Holder] swaps pickers atomically so
// Pick never takes a lock. Strategies: [NewRoundRobin], [NewWeightedRoundRobin],
// [NewRandom], [NewWeightedRandom], [NewLeastRequest], [NewRingHash],
// [NewMaglev], and the [Affinity] wrapper for ClientIP session affinity.
//
// Health follows Kubernetes: only ready backends are picked; when none is
// ready, serving-but-terminating ones are; with nothing left Pick returns
// [ErrNoBackend].
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
