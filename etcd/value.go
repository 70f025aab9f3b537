package etcd

import (
	"crypto/rand"
	"fmt"
)

// valueVersion is the encoding version of an allocation value. A reader refuses a
// value of a higher version (ErrUnknownVersion) instead of misreading it.
const valueVersion = 1

// writeID names one logical write, so that a retry after an ambiguous failure (the
// attempt timed out but may have been applied) can recognise its own earlier write.
type writeID [16]byte

func newWriteID() writeID {
	var id writeID
	rand.Read(id[:]) // crypto/rand.Read never fails on Linux and panics otherwise
	return id
}

// encodeValue is the stored form of an allocation value: version, write ID, payload.
func encodeValue(id writeID, payload []byte) []byte {
	b := make([]byte, 0, 1+len(id)+len(payload))
	b = append(b, valueVersion)
	b = append(b, id[:]...)
	return append(b, payload...)
}

// decodeValue splits a stored value; the payload aliases b.
func decodeValue(key string, b []byte) (writeID, []byte, error) {
	var id writeID
	if len(b) < 1+len(id) {
		return id, nil, fmt.Errorf("key %q: %w: %d bytes", key, ErrCorrupt, len(b))
	}
	if b[0] != valueVersion {
		return id, nil, fmt.Errorf("key %q: %w: %d (this reader knows %d)", key, ErrUnknownVersion, b[0], valueVersion)
	}
	copy(id[:], b[1:])
	return id, b[1+len(id):], nil
}
