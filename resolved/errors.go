package resolved

import "errors"

var (
	// ErrInvalid is returned by Validate, and by the decoders, for a
	// Service or State that breaks one of the rules Validate documents.
	ErrInvalid = errors.New("resolved: invalid")
	// ErrUnsupportedFormat is returned by the decoders when the encoded
	// format version is not one this reader knows, such as one written by
	// a newer release: the data is refused rather than misread.
	ErrUnsupportedFormat = errors.New("resolved: unsupported format version")
)
