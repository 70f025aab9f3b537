package endpoints

import "errors"

// Reconcile checks its input before it plans anything and returns these,
// wrapped with the offending value, so a controller can tell a bad
// configuration (fail at start-up), a bad service (skip it and report it)
// and a stale view of the slices (re-read them and retry) apart with
// [errors.Is].
var (
	// ErrInvalidConfig is returned by Reconcile when
	// Config.MaxEndpointsPerSlice is negative or above 1000, the range
	// kube-controller-manager rejects for --max-endpoints-per-slice.
	ErrInvalidConfig = errors.New("endpoints: invalid config")
	// ErrInvalidService is returned by Service.Validate and Reconcile when
	// the service has no name (its slices could not be named or labelled),
	// lists an IP family other than 4 or 6 or one twice, or has a
	// TrafficDistribution the Kubernetes API does not accept.
	ErrInvalidService = errors.New("endpoints: invalid service")
	// ErrDuplicateSlice is returned by Reconcile when two existing slices
	// share a name: the caller's view of the slices is inconsistent (a
	// cache that missed an event) and should be read again.
	ErrDuplicateSlice = errors.New("endpoints: duplicate slice name")
)
