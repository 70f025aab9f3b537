package dnsname

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error this package returns wraps exactly one of them,
// so callers branch with errors.Is.
var (
	// ErrInvalidLabel is returned by [IsDNS1035Label] and [IsDNS1123Label]
	// (and by [Catalog.SetService] for bad names and namespaces) when a
	// string is not a valid DNS label.
	ErrInvalidLabel = errors.New("invalid DNS label")

	// ErrInvalidSubdomain is returned by [IsDNS1123Subdomain] when a string
	// is not a valid RFC 1123 subdomain (ExternalName targets, pod names).
	ErrInvalidSubdomain = errors.New("invalid DNS subdomain")

	// ErrInvalidPortName is returned by [IsPortName] when a service port
	// name breaks the IANA service-name rules.
	ErrInvalidPortName = errors.New("invalid port name")

	// ErrInvalidAddr is returned by [ParseDashedAddr] and [ParseReverse]
	// when a name does not encode an IP address.
	ErrInvalidAddr = errors.New("invalid address name")

	// ErrInvalidService is returned by [Catalog.SetService] when a service
	// is inconsistent (for example a ClusterIP service without cluster IPs,
	// or an ExternalName service without a target).
	ErrInvalidService = errors.New("invalid service")

	// ErrInvalidProtocol is returned by [ParseProtocol] and
	// [Protocol.MarshalText] for anything but TCP, UDP and SCTP.
	ErrInvalidProtocol = errors.New("invalid protocol")

	// ErrInvalidPod is returned by [Catalog.SetPod] when a pod has an
	// invalid namespace or name.
	ErrInvalidPod = errors.New("invalid pod")
)

// ValidationError reports which rule an input broke. It wraps one of the
// sentinels above; use errors.Is to branch and errors.As to read the rule.
// The zero ValidationError belongs to no sentinel; only this package makes
// useful ones. It is immutable once returned, so safe to share.
type ValidationError struct {
	Rule   string // the rule, e.g. "RFC 1123 label"
	Input  string // the rejected input, verbatim
	Reason string // what is wrong, lowercase
	err    error
}

func (e *ValidationError) Error() string {
	return "invalid " + e.Rule + " " + strconv.Quote(e.Input) + ": " + e.Reason
}

// Unwrap returns the sentinel the error belongs to.
func (e *ValidationError) Unwrap() error { return e.err }
