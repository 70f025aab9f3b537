package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateVersion is the state file format this package writes and reads.
const stateVersion = 1

// State is what survives a restart: the allocator snapshots and, per
// service, what it was given. The zero value is an empty state.
type State struct {
	Version int `json:"version"`
	// ServiceIPs holds one allocator snapshot per service CIDR, keyed by the CIDR.
	ServiceIPs map[string][]byte `json:"serviceIPs,omitempty"`
	// NodePorts is the node-port allocator's snapshot, keyed by its range.
	NodePorts map[string][]byte `json:"nodePorts,omitempty"`
	// LBPool is the LoadBalancer pool allocator's snapshot, which names the
	// ranges it was taken from.
	LBPool []byte `json:"loadBalancerPool,omitempty"`
	// Services maps "namespace/name" to its assignments.
	Services map[string]Assignment `json:"services,omitempty"`
}

// Assignment is what one service was allocated.
type Assignment struct {
	ClusterIPs []string `json:"clusterIPs,omitempty"`
	// NodePorts maps "protocol/port" of a service port to its node port.
	NodePorts map[string]uint16 `json:"nodePorts,omitempty"`
	// HealthCheckNodePort is set for LoadBalancer services with
	// externalTrafficPolicy Local.
	HealthCheckNodePort uint16 `json:"healthCheckNodePort,omitempty"`
	LoadBalancerIP      string `json:"loadBalancerIP,omitempty"`
	// LBShareKey and LBPorts record how the address may be shared, so
	// that a restart enforces the same sharing rules.
	LBShareKey string   `json:"lbShareKey,omitempty"`
	LBPorts    []string `json:"lbPorts,omitempty"`
}

// ReadState reads a state file; a missing file is an empty state.
func ReadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: stateVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state %q: %w", path, err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state %q: %w: %v", path, ErrBadState, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state %q: %w: version %d, want %d", path, ErrBadState, s.Version, stateVersion)
	}
	return &s, nil
}

// WriteState replaces the file atomically (write to a temporary file in
// the same directory, then rename), so a crash leaves the old or the new
// state, never half of one.
func WriteState(path string, s *State) error {
	s.Version = stateVersion
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("state %q: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".svcnet-state-*")
	if err != nil {
		return fmt.Errorf("state %q: %w", path, err)
	}
	_, err = f.Write(append(data, '\n'))
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
