package manifests

import (
	"net/netip"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxFileBytes  = 4 << 20  // 4 MiB per file
	DefaultMaxTotalBytes = 64 << 20 // 64 MiB for the whole directory
	// DefaultDebounce is short: an editor's save or a kubectl-style
	// truncate-and-write finishes within it, and a load that still sees a
	// half-written file costs nothing lasting (the control plane keeps a
	// service that disappears for a moment on its addresses). A longer
	// debounce is latency every change pays (issue 13: p90 under 100 ms
	// under churn).
	DefaultDebounce = 10 * time.Millisecond
	DefaultMaxWait  = time.Second
)

// Config says what to load and how. The zero value loads the current
// directory with the defaults below and refuses every externalIP. It is a
// plain value; NewLoader copies it.
type Config struct {
	// Dir is the directory of manifests: every *.yaml, *.yml and *.json
	// file in it (not recursively; names starting with "." are skipped).
	// Empty means ".".
	Dir string
	// MaxFileBytes is the largest file read; a larger one is refused with
	// ErrTooLarge without reading it. Zero means DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxTotalBytes bounds the bytes of all files read together; files
	// past it, in name order, are refused with ErrTooLarge. Zero means
	// DefaultMaxTotalBytes.
	MaxTotalBytes int64
	// ExternalIPCIDRs are the ranges spec.externalIPs may come from. As
	// kube-apiserver's DenyServiceExternalIPs admission and the
	// externalip-webhook, the default is safe: empty refuses every
	// externalIP, since one lets a tenant capture traffic for any address
	// (CVE-2020-8554).
	ExternalIPCIDRs []netip.Prefix
	// Debounce is how long Watch waits after the last change before it
	// loads. Zero means DefaultDebounce.
	Debounce time.Duration
	// MaxWait bounds how long Watch delays a load under constant change:
	// it loads at most MaxWait after the first unreported change even if
	// changes keep coming. Zero means DefaultMaxWait. A MaxWait below
	// Debounce makes every load wait MaxWait.
	MaxWait time.Duration
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Dir == "" {
		c.Dir = "."
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.MaxTotalBytes <= 0 {
		c.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if c.Debounce <= 0 {
		c.Debounce = DefaultDebounce
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultMaxWait
	}
	return c
}

// externalIPAllowed reports whether a lies in one of the configured ranges.
func (c *Config) externalIPAllowed(a netip.Addr) bool {
	for _, p := range c.ExternalIPCIDRs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
