package allocator

// IPStaticBand is the KEP-3070 static band size for a range of size usable addresses:
// min(max(16, size/16), 256), capped at size.
func IPStaticBand(size uint64) uint64 {
	return min(max(16, size/16), 256, size)
}

// PortStaticBand is the KEP-3668 static band size: min(max(16, size/32), 128), and 0
// when size ≤ 16.
func PortStaticBand(size uint64) uint64 {
	if size <= 16 {
		return 0
	}
	return min(max(16, size/32), 128)
}
