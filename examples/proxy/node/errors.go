package node

import "errors"

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalidManifest is wrapped by every *ManifestError: a document
	// that is not valid YAML or not a valid object.
	ErrInvalidManifest = errors.New("invalid manifest")
	// ErrConflict is returned when a service requests an address or port
	// another service already holds, or one outside the configured range.
	ErrConflict = errors.New("allocation conflict")
	// ErrBadFlag is returned by ParseFlags for an invalid flag value.
	ErrBadFlag = errors.New("invalid flag")
	// ErrBadState is returned when the state file cannot be decoded.
	ErrBadState = errors.New("invalid state file")
)
