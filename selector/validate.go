package selector

import (
	"maps"
	"slices"
	"strconv"
)

// ValidateLabels reports whether every key of m is a Kubernetes label key
// (a qualified name) and every value a label value, as Kubernetes validates
// a Service's selector and an object's labels. The error, for the first
// bad entry in key order, wraps [ErrInvalidKey] or [ErrInvalidValue] and
// quotes it. A nil or empty map is valid.
func ValidateLabels(m map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := checkRequirement(k, []string{m[k]}); err != nil {
			return err
		}
	}
	return nil
}

const (
	maxNameLen   = 63  // qualified name part and label value
	maxPrefixLen = 253 // DNS-1123 subdomain
)

// checkKey reports why k is not a Kubernetes qualified name, or "" if it is.
func checkKey(k string) string {
	prefix, name := "", k
	slash := -1
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			if slash >= 0 {
				return "key " + strconv.Quote(k) + " has more than one '/': a key is a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
			}
			slash = i
		}
	}
	if slash >= 0 {
		prefix, name = k[:slash], k[slash+1:]
		switch {
		case prefix == "":
			return "key " + strconv.Quote(k) + ": prefix part must be non-empty"
		case len(prefix) > maxPrefixLen:
			return "key " + strconv.Quote(k) + ": prefix part must be no more than 253 characters"
		case !isDNS1123Subdomain(prefix):
			return "key " + strconv.Quote(k) + ": prefix part " + strconv.Quote(prefix) + " must be a lowercase RFC 1123 subdomain: lowercase alphanumerics, '-' or '.', starting and ending each label with an alphanumeric"
		}
	}
	switch {
	case name == "":
		return "key " + strconv.Quote(k) + ": name part must be non-empty"
	case len(name) > maxNameLen:
		return "key " + strconv.Quote(k) + ": name part must be no more than 63 characters"
	case !isName(name):
		return "key " + strconv.Quote(k) + ": name part " + strconv.Quote(name) + " must consist of alphanumerics, '-', '_' or '.', and must start and end with an alphanumeric"
	}
	return ""
}

// checkValue reports why v is not a valid label value, or "" if it is.
func checkValue(key, v string) string {
	switch {
	case len(v) > maxNameLen:
		return "value " + strconv.Quote(v) + " for key " + strconv.Quote(key) + " must be no more than 63 characters"
	case v != "" && !isName(v):
		return "value " + strconv.Quote(v) + " for key " + strconv.Quote(key) + " must be empty or consist of alphanumerics, '-', '_' or '.', and must start and end with an alphanumeric"
	}
	return ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isName matches ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] (length not checked).
func isName(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isDNS1123Subdomain matches [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
// (length not checked; unlike a DNS label, Kubernetes puts no limit on each part).
func isDNS1123Subdomain(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		part := s[start:i]
		if part == "" || part[0] == '-' || part[len(part)-1] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}

// parseInt64 is strconv.ParseInt(s, 10, 64) without the allocation of its
// error: matching calls it on arbitrary label values in the hot path.
func parseInt64(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit = 1 << 63
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i] - '0')
		if d > 9 || n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		return -int64(n), true // two's complement makes -(1<<63) exact
	}
	return int64(n), true
}
