package node

import (
	"errors"
	"flag"
	"io"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/svcnet/svcnet/dnsname"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(c Config) bool
		wantErr bool
	}{
		{"defaults", []string{"--manifests", "/m"}, func(c Config) bool {
			return c.PodRecords == dnsname.PodsInsecure && reflect.DeepEqual(c.ServiceCIDRs, []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}) &&
				c.NodePortMin == 30000 && c.NodePortMax == 32767 && c.Zone == "cluster.local" &&
				c.DNSListen == "127.0.0.1:1053" && c.MetricsListen == "127.0.0.1:10249" &&
				c.StateFile == filepath.Join("/m", StateFileName) && c.ClusterCIDRs[0].String() == "10.244.0.0/16" && c.NetNS == ""
		}, false},
		{"dual stack", []string{"--manifests", "/m", "--service-cidr", "10.96.0.0/16, fd00::/108"}, func(c Config) bool {
			return len(c.ServiceCIDRs) == 2 && c.ServiceCIDRs[1].String() == "fd00::/108"
		}, false},
		{"everything", []string{"--manifests=/m", "--netns=n1", "--node=a", "--nodeport-range=31000-31010", "--zone=example.local",
			"--dns-listen=", "--metrics-listen=", "--loadbalancer-pool=192.0.2.0/29,198.51.100.1-198.51.100.3", "--state=/s.json", "--once"}, func(c Config) bool {
			return c.NetNS == "n1" && c.NodeName == "a" && c.NodePortMin == 31000 && c.NodePortMax == 31010 && c.Zone == "example.local" &&
				c.DNSListen == "" && c.MetricsListen == "" && len(c.LBPool) == 2 && c.StateFile == "/s.json" && c.Once
		}, false},
		{"cleanup needs no manifests", []string{"--cleanup"}, func(c Config) bool { return c.Cleanup }, false},
		{"missing manifests", nil, nil, true},
		{"two of one family", []string{"--manifests", "/m", "--service-cidr", "10.96.0.0/16,10.97.0.0/16"}, nil, true},
		{"host bits", []string{"--manifests", "/m", "--service-cidr", "10.96.0.1/16"}, nil, true},
		{"bad range", []string{"--manifests", "/m", "--nodeport-range", "32000-31000"}, nil, true},
		{"bad pool", []string{"--manifests", "/m", "--loadbalancer-pool", "nope"}, nil, true},
		{"pod records", []string{"--manifests", "/m", "--pod-records", "verified"}, func(c Config) bool {
			return c.PodRecords == dnsname.PodsVerified
		}, false},
		{"bad pod records", []string{"--manifests", "/m", "--pod-records", "all"}, nil, true},
		{"stray argument", []string{"--manifests", "/m", "extra"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := ParseFlags(fs, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseFlags(%q) error = %v; want error %v", tt.args, err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadFlag) {
					t.Errorf("ParseFlags(%q) error = %v; want ErrBadFlag", tt.args, err)
				}
				return
			}
			if !tt.check(c) {
				t.Errorf("ParseFlags(%q) = %+v", tt.args, c)
			}
		})
	}
}
