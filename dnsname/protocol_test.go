package dnsname

import (
	"errors"
	"testing"
)

// The vocabulary shared by every svcnet package (issue 12): Kubernetes'
// spelling, the empty string meaning TCP (a port without protocol), and
// nothing else accepted — Kubernetes 1.37 rejects "tcp" in a Service.
func TestProtocolVocabulary(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Protocol
		wantErr bool
	}{
		{"", TCP, false},
		{"TCP", TCP, false},
		{"UDP", UDP, false},
		{"SCTP", SCTP, false},
		{"tcp", TCP, true},
		{"ICMP", TCP, true},
	} {
		got, err := ParseProtocol(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidProtocol) {
			t.Errorf("ParseProtocol(%q) error %v does not wrap ErrInvalidProtocol", tt.in, err)
		}
	}
	if TCP != 0 {
		t.Errorf("TCP = %d; want the zero value", TCP)
	}
	for _, p := range []Protocol{TCP, UDP, SCTP} {
		b, err := p.MarshalText()
		if err != nil || string(b) != p.String() {
			t.Errorf("%v.MarshalText() = %q, %v; want %q", p, b, err, p.String())
		}
		var q Protocol
		if err := q.UnmarshalText(b); err != nil || q != p {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, q, err, p)
		}
	}
	if s := Protocol(7).String(); s != "Protocol(7)" {
		t.Errorf("Protocol(7).String() = %q; want \"Protocol(7)\"", s)
	}
	if _, err := Protocol(7).MarshalText(); !errors.Is(err, ErrInvalidProtocol) {
		t.Errorf("Protocol(7).MarshalText() error = %v; want ErrInvalidProtocol", err)
	}
	q := UDP
	if err := q.UnmarshalText([]byte("udp")); err == nil || q != UDP {
		t.Errorf("UnmarshalText(\"udp\") = %v, %v; want an error and the value unchanged", q, err)
	}
}
