package dnsname

import (
	"errors"
	"strings"
	"testing"
)

func TestValidators(t *testing.T) {
	l63 := strings.Repeat("a", 63)
	tests := []struct {
		name    string
		fn      func(string) error
		fnName  string
		in      string
		wantErr error // nil means valid
		wantMsg string
	}{
		{"1123 simple", IsDNS1123Label, "IsDNS1123Label", "default", nil, ""},
		{"1123 digit start", IsDNS1123Label, "IsDNS1123Label", "1abc", nil, ""},
		{"1123 63 chars", IsDNS1123Label, "IsDNS1123Label", l63, nil, ""},
		{"1123 64 chars", IsDNS1123Label, "IsDNS1123Label", l63 + "a", ErrInvalidLabel, "no more than 63"},
		{"1123 empty", IsDNS1123Label, "IsDNS1123Label", "", ErrInvalidLabel, "RFC 1123 label"},
		{"1123 upper", IsDNS1123Label, "IsDNS1123Label", "Default", ErrInvalidLabel, `"Default"`},
		{"1123 leading dash", IsDNS1123Label, "IsDNS1123Label", "-a", ErrInvalidLabel, "start and end"},
		{"1123 trailing dash", IsDNS1123Label, "IsDNS1123Label", "a-", ErrInvalidLabel, "start and end"},
		{"1123 dot", IsDNS1123Label, "IsDNS1123Label", "a.b", ErrInvalidLabel, "alphanumeric"},
		{"1123 underscore", IsDNS1123Label, "IsDNS1123Label", "a_b", ErrInvalidLabel, "alphanumeric"},
		{"1035 simple", IsDNS1035Label, "IsDNS1035Label", "my-svc", nil, ""},
		{"1035 digit start", IsDNS1035Label, "IsDNS1035Label", "1abc", ErrInvalidLabel, "RFC 1035 label"},
		{"1035 digit end", IsDNS1035Label, "IsDNS1035Label", "abc1", nil, ""},
		{"1035 64 chars", IsDNS1035Label, "IsDNS1035Label", l63 + "a", ErrInvalidLabel, "no more than 63"},
		{"1035 single letter", IsDNS1035Label, "IsDNS1035Label", "a", nil, ""},
		{"sub simple", IsDNS1123Subdomain, "IsDNS1123Subdomain", "example.com", nil, ""},
		{"sub label", IsDNS1123Subdomain, "IsDNS1123Subdomain", "pod-0", nil, ""},
		{"sub long label allowed as in k8s", IsDNS1123Subdomain, "IsDNS1123Subdomain", l63 + "aaa.b", nil, ""},
		{"sub 253", IsDNS1123Subdomain, "IsDNS1123Subdomain", strings.Repeat("a.", 126) + "a", nil, ""},
		{"sub 255", IsDNS1123Subdomain, "IsDNS1123Subdomain", strings.Repeat("a.", 127) + "a", ErrInvalidSubdomain, "no more than 253"},
		{"sub empty label", IsDNS1123Subdomain, "IsDNS1123Subdomain", "a..b", ErrInvalidSubdomain, "RFC 1123 subdomain"},
		{"sub trailing dot", IsDNS1123Subdomain, "IsDNS1123Subdomain", "a.b.", ErrInvalidSubdomain, `"a.b."`},
		{"sub empty", IsDNS1123Subdomain, "IsDNS1123Subdomain", "", ErrInvalidSubdomain, ""},
		{"sub upper", IsDNS1123Subdomain, "IsDNS1123Subdomain", "Example.com", ErrInvalidSubdomain, ""},
		{"port http", IsPortName, "IsPortName", "http", nil, ""},
		{"port 15", IsPortName, "IsPortName", "abcdefghij-klmn", nil, ""},
		{"port 16", IsPortName, "IsPortName", "abcdefghij-klmno", ErrInvalidPortName, "no more than 15"},
		{"port digits only", IsPortName, "IsPortName", "8080", ErrInvalidPortName, "at least one letter"},
		{"port letter and digits", IsPortName, "IsPortName", "h2c8080", nil, ""},
		{"port double dash", IsPortName, "IsPortName", "a--b", ErrInvalidPortName, "consecutive"},
		{"port leading dash", IsPortName, "IsPortName", "-ab", ErrInvalidPortName, "begin or end"},
		{"port trailing dash", IsPortName, "IsPortName", "ab-", ErrInvalidPortName, "begin or end"},
		{"port upper", IsPortName, "IsPortName", "HTTP", ErrInvalidPortName, "alpha-numeric"},
		{"port empty", IsPortName, "IsPortName", "", ErrInvalidPortName, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(tt.in)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("%s(%q) = %v; want nil", tt.fnName, tt.in, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s(%q) = %v; want %v", tt.fnName, tt.in, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("%s(%q) error %q; want it to contain %q", tt.fnName, tt.in, err, tt.wantMsg)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Input != tt.in {
				t.Errorf("%s(%q) error %#v; want a *ValidationError quoting the input", tt.fnName, tt.in, err)
			}
		})
	}
}
