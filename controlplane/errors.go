package controlplane

import "errors"

// ErrConflict is wrapped by the error of a service refused because it
// claims a frontend (address, port and protocol) another service holds,
// or lists one address twice: a node's dataplane could not program it.
// The service that held the frontend first keeps it.
var ErrConflict = errors.New("frontend already held by another service")
