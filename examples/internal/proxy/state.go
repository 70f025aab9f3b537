package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/svcnet/svcnet/allocator"
	"github.com/svcnet/svcnet/controlplane"
	"github.com/svcnet/svcnet/resolved"
)

// StateVersion is the state file format this package writes: version 2
// holds one allocator.Services snapshot (itself versioned and checksummed).
// Version 1, written by the proxy before the control plane existed, is
// still read (see legacyState).
const StateVersion = 2

// ErrState is returned for a state file that cannot be used: not JSON,
// a version this package does not know, or a snapshot the allocator
// refuses (damaged, or taken under other ranges). The proxy refuses to
// start on it rather than hand out addresses it may already have given.
var ErrState = errors.New("proxy: unusable state file")

// stateFile is the on-disk form of version 2.
type stateFile struct {
	Version     int    `json:"version"`
	Allocations []byte `json:"allocations"`
}

// legacyState is version 1: per-range allocator snapshots, which are
// ignored here, and per service what it was given, which is the truth
// the new allocator is rebuilt from.
type legacyState struct {
	Version  int                         `json:"version"`
	Services map[string]legacyAssignment `json:"services"`
}

type legacyAssignment struct {
	ClusterIPs []string `json:"clusterIPs"`
	// NodePorts maps "PROTOCOL/port" to the node port.
	NodePorts           map[string]uint16 `json:"nodePorts"`
	HealthCheckNodePort uint16            `json:"healthCheckNodePort"`
	LoadBalancerIP      string            `json:"loadBalancerIP"`
}

// readState reads path into alloc. A missing file is an empty state.
// A version 1 file is returned as its per-service records for
// migrateLegacy, since turning it into allocations needs the manifests'
// port names; it is nil otherwise.
func readState(path string, alloc *allocator.Services) (map[string]legacyAssignment, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state %q: %w", path, err)
	}
	var head struct{ Version int }
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("state %q: %w: %v", path, ErrState, err)
	}
	switch head.Version {
	case 1:
		var old legacyState
		if err := json.Unmarshal(b, &old); err != nil {
			return nil, fmt.Errorf("state %q: %w: %v", path, ErrState, err)
		}
		return old.Services, nil
	case StateVersion:
		var sf stateFile
		if err := json.Unmarshal(b, &sf); err != nil {
			return nil, fmt.Errorf("state %q: %w: %v", path, ErrState, err)
		}
		if err := alloc.Restore(sf.Allocations); err != nil {
			return nil, fmt.Errorf("state %q: %w: %w", path, ErrState, err)
		}
		return nil, nil
	}
	return nil, fmt.Errorf("state %q: %w: version %d, want %d (or 1)", path, ErrState, head.Version, StateVersion)
}

// writeState replaces path atomically with snapshot: a temporary file in
// the same directory, synced, then renamed over it, so a crash leaves the
// old state or the new one, never half of one.
func writeState(path string, snapshot []byte) error {
	b, err := json.Marshal(stateFile{Version: StateVersion, Allocations: snapshot})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".svcnet-state-*")
	if err != nil {
		return fmt.Errorf("state %q: %w", path, err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("state %q: %w", path, err)
	}
	return nil
}

// migrateLegacy returns in with what a version 1 state file recorded set
// as requested values wherever the manifests request none: ClusterIPs,
// node ports (matched by protocol and port, as version 1 keyed them),
// the health-check node port and the LoadBalancer address. Resolving the
// result once gives every service what it had before the upgrade; the
// allocator refuses a recorded value that is taken or out of range, so
// a damaged record never yields a duplicate. Services no manifest holds
// any more are dropped, as version 1 released them on its next sync.
func migrateLegacy(old map[string]legacyAssignment, in controlplane.Input) controlplane.Input {
	out := in
	out.Services = make([]controlplane.Service, len(in.Services))
	for i, sv := range in.Services {
		out.Services[i] = sv
		if a, ok := old[resolved.Ref{Namespace: sv.Spec.Namespace, Name: sv.Spec.Name}.String()]; ok {
			out.Services[i].Spec = overlay(sv.Spec, a)
		}
	}
	return out
}

func overlay(s resolved.Service, a legacyAssignment) resolved.Service {
	if len(s.ClusterIPs) == 0 && !s.Headless {
		s.ClusterIPs = parseAddrs(a.ClusterIPs)
	}
	s.Ports = append([]resolved.Port(nil), s.Ports...)
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.NodePort == 0 {
			p.NodePort = a.NodePorts[p.Protocol.String()+"/"+strconv.Itoa(int(p.Port))]
		}
	}
	if s.HealthCheckNodePort == 0 {
		s.HealthCheckNodePort = a.HealthCheckNodePort
	}
	if len(s.LoadBalancerIPs) == 0 && a.LoadBalancerIP != "" {
		s.LoadBalancerIPs = parseAddrs([]string{a.LoadBalancerIP})
	}
	return s
}

// parseAddrs keeps the addresses that parse: a damaged one is left for the
// allocator to assign afresh, which is the best a lost record allows.
func parseAddrs(ss []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
			out = append(out, a)
		}
	}
	return out
}
