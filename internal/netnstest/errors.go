package netnstest

import "errors"

// Errors returned by [NS.Ask] and [NS.Tally], wrapped with the request they
// belong to; test them with errors.Is.
var (
	// ErrRefused is returned when the peer actively refused: a TCP reset or
	// an ICMP port unreachable (ECONNREFUSED).
	ErrRefused = errors.New("connection refused")

	// ErrTimeout is returned when no answer came before the context's
	// deadline: the packets were dropped somewhere.
	ErrTimeout = errors.New("no answer before deadline")

	// ErrUnreachable is returned for an ICMP host, network or
	// administratively-prohibited unreachable (EHOSTUNREACH, ENETUNREACH).
	ErrUnreachable = errors.New("unreachable")
)
