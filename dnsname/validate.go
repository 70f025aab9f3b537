package dnsname

// Validation rules follow k8s.io/apimachinery/pkg/util/validation exactly,
// but walk bytes instead of running a regexp so that a valid input costs
// no allocation (only a rejection builds an error).

const (
	// MaxLabelLength is the longest DNS label (RFC 1035 §2.3.4).
	MaxLabelLength = 63
	// MaxSubdomainLength is the longest RFC 1123 subdomain Kubernetes accepts.
	MaxSubdomainLength = 253
	// MaxPortNameLength is the longest IANA service name (RFC 6335 §5.1).
	MaxPortNameLength = 15
)

const (
	rule1035      = "RFC 1035 label"
	rule1123      = "RFC 1123 label"
	ruleSubdomain = "RFC 1123 subdomain"
	rulePortName  = "IANA port name"

	msg1123 = "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
	msg1035 = "must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"
	msgSub  = "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
)

func invalid(rule, input, reason string, sentinel error) error {
	return &ValidationError{Rule: rule, Input: input, Reason: reason, err: sentinel}
}

// Unsigned wrap-around turns each range check into one comparison.
func isLower(c byte) bool { return c-'a' < 26 }
func isDigit(c byte) bool { return c-'0' < 10 }
func isAlnum(c byte) bool { return isLower(c) || isDigit(c) }

// label1123 reports whether s matches [a-z0-9]([-a-z0-9]*[a-z0-9])? with no
// length limit; callers apply the limit that fits their rule.
func label1123(s string) bool {
	if s == "" || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// IsDNS1123Label returns nil if s is a valid RFC 1123 label: at most 63
// lower case alphanumeric characters or '-', starting and ending with an
// alphanumeric character. Namespaces, hostnames and subdomains of pods use it.
// The returned error wraps [ErrInvalidLabel].
func IsDNS1123Label(s string) error {
	if len(s) > MaxLabelLength {
		return invalid(rule1123, s, "must be no more than 63 characters", ErrInvalidLabel)
	}
	if !label1123(s) {
		return invalid(rule1123, s, msg1123, ErrInvalidLabel)
	}
	return nil
}

// IsDNS1035Label returns nil if s is a valid RFC 1035 label: as an RFC 1123
// label, but starting with a letter. Service names use it.
// The returned error wraps [ErrInvalidLabel].
func IsDNS1035Label(s string) error {
	if len(s) > MaxLabelLength {
		return invalid(rule1035, s, "must be no more than 63 characters", ErrInvalidLabel)
	}
	if !label1123(s) || !isLower(s[0]) {
		return invalid(rule1035, s, msg1035, ErrInvalidLabel)
	}
	return nil
}

// IsDNS1123Subdomain returns nil if s is a valid RFC 1123 subdomain: at most
// 253 characters of dot-separated RFC 1123 labels. As in Kubernetes, the
// labels themselves are not limited to 63 characters. Pod names and
// ExternalName targets use it. The returned error wraps [ErrInvalidSubdomain].
func IsDNS1123Subdomain(s string) error {
	if len(s) > MaxSubdomainLength {
		return invalid(ruleSubdomain, s, "must be no more than 253 characters", ErrInvalidSubdomain)
	}
	// One pass: a label starts after a dot (or at the start) and must not
	// start or end with '-' or be empty.
	prev := byte('.')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c):
		case c == '-' && prev != '.':
		case c == '.' && prev != '.' && prev != '-':
		default:
			return invalid(ruleSubdomain, s, msgSub, ErrInvalidSubdomain)
		}
		prev = c
	}
	if prev == '.' || prev == '-' {
		return invalid(ruleSubdomain, s, msgSub, ErrInvalidSubdomain)
	}
	return nil
}

// IsPortName returns nil if s is a valid IANA service name as Kubernetes
// requires of named ports: 1 to 15 characters of [a-z0-9-], at least one
// letter, no "--", and no leading or trailing '-'. The returned error wraps
// [ErrInvalidPortName].
func IsPortName(s string) error {
	if s == "" {
		return invalid(rulePortName, s, "must not be empty", ErrInvalidPortName)
	}
	if len(s) > MaxPortNameLength {
		return invalid(rulePortName, s, "must be no more than 15 characters", ErrInvalidPortName)
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLower(c):
			letter = true
		case isDigit(c):
		case c == '-':
			if i > 0 && s[i-1] == '-' {
				return invalid(rulePortName, s, "must not contain consecutive hyphens", ErrInvalidPortName)
			}
		default:
			return invalid(rulePortName, s, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)", ErrInvalidPortName)
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return invalid(rulePortName, s, "must not begin or end with a hyphen", ErrInvalidPortName)
	}
	if !letter {
		return invalid(rulePortName, s, "must contain at least one letter (a-z)", ErrInvalidPortName)
	}
	return nil
}
