package resolved

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
)

// FormatVersion is the encoding version this package writes and the only
// one it reads. It changes whenever the encoding changes in any way, new
// fields included: a reader refuses a version it does not know (and any
// field it does not know) with ErrUnsupportedFormat or ErrInvalid, so data
// from a newer writer is never silently misread.
const FormatVersion = 1

// The wire types are this package's own, field by field, so that a change
// to an in-memory type (endpoints.Slice, say) cannot change the encoding
// without a new FormatVersion.
type (
	wireState struct {
		Format   int           `json:"format"`
		Version  uint64        `json:"version"`
		Services []wireService `json:"services"`
	}
	wireOne struct {
		Format  int          `json:"format"`
		Service *wireService `json:"service"`
	}
	wireService struct {
		Namespace           string         `json:"namespace"`
		Name                string         `json:"name"`
		Revision            uint64         `json:"revision,omitempty"`
		Type                ServiceType    `json:"type"`
		Headless            bool           `json:"headless,omitempty"`
		ClusterIPs          []netip.Addr   `json:"clusterIPs,omitempty"`
		IPFamilies          []IPFamily     `json:"ipFamilies,omitempty"`
		Ports               []wirePort     `json:"ports,omitempty"`
		ExternalIPs         []netip.Addr   `json:"externalIPs,omitempty"`
		LoadBalancerIPs     []netip.Addr   `json:"loadBalancerIPs,omitempty"`
		SourceRanges        []netip.Prefix `json:"loadBalancerSourceRanges,omitempty"`
		HealthCheckNodePort uint16         `json:"healthCheckNodePort,omitempty"`
		ExternalPolicy      TrafficPolicy  `json:"externalTrafficPolicy"`
		InternalPolicy      TrafficPolicy  `json:"internalTrafficPolicy"`
		ClientIPAffinity    bool           `json:"clientIPAffinity,omitempty"`
		AffinitySeconds     int64          `json:"affinityTimeoutSeconds,omitempty"`
		ExternalName        string         `json:"externalName,omitempty"`
		ConsistentHash      bool           `json:"consistentHash,omitempty"`
		TrafficDistribution string         `json:"trafficDistribution,omitempty"`
		PublishNotReady     bool           `json:"publishNotReadyAddresses,omitempty"`
		Slices              []wireSlice    `json:"slices,omitempty"`
	}
	wirePort struct {
		Name           string   `json:"name,omitempty"`
		Protocol       Protocol `json:"protocol"`
		Port           uint16   `json:"port"`
		TargetPort     uint16   `json:"targetPort,omitempty"`
		TargetPortName string   `json:"targetPortName,omitempty"`
		NodePort       uint16   `json:"nodePort,omitempty"`
		AppProtocol    string   `json:"appProtocol,omitempty"`
	}
	wireSlice struct {
		Name      string            `json:"name"`
		Family    IPFamily          `json:"family"`
		Ports     []wireSlicePort   `json:"ports,omitempty"`
		Endpoints []wireEndpoint    `json:"endpoints,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	}
	wireSlicePort struct {
		Name        string   `json:"name,omitempty"`
		Protocol    Protocol `json:"protocol"`
		Port        uint16   `json:"port"`
		AppProtocol string   `json:"appProtocol,omitempty"`
	}
	wireEndpoint struct {
		Address     netip.Addr `json:"address"`
		Ready       bool       `json:"ready,omitempty"`
		Serving     bool       `json:"serving,omitempty"`
		Terminating bool       `json:"terminating,omitempty"`
		Hostname    string     `json:"hostname,omitempty"`
		NodeName    string     `json:"nodeName,omitempty"`
		Zone        string     `json:"zone,omitempty"`
		RefNS       string     `json:"targetNamespace,omitempty"`
		RefName     string     `json:"targetName,omitempty"`
		ForZone     string     `json:"forZone,omitempty"`
		ForNode     string     `json:"forNode,omitempty"`
	}
)

// Marshal encodes st as JSON with FormatVersion. It validates first and
// returns an error wrapping ErrInvalid rather than write a state a reader
// would refuse.
func (st *State) Marshal() ([]byte, error) {
	if err := st.Validate(); err != nil {
		return nil, err
	}
	w := wireState{Format: FormatVersion, Version: st.Version, Services: make([]wireService, len(st.Services))}
	for i := range st.Services {
		w.Services[i] = toWire(st.Services[i])
	}
	return json.Marshal(&w)
}

// Unmarshal decodes a State written by Marshal and validates it. It
// returns an error wrapping ErrUnsupportedFormat for another format
// version, and one wrapping ErrInvalid for anything malformed, unknown
// fields included.
func Unmarshal(b []byte) (State, error) {
	var w wireState
	if err := decode(b, &w); err != nil {
		return State{}, err
	}
	st := State{Version: w.Version, Services: make([]*Service, len(w.Services))}
	for i := range w.Services {
		s := fromWire(&w.Services[i])
		st.Services[i] = &s
	}
	if err := st.Validate(); err != nil {
		return State{}, err
	}
	return st, nil
}

// MarshalService encodes one service, with FormatVersion, for stores that
// keep a key per service. It validates first, as Marshal does.
func MarshalService(s *Service) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	ws := toWire(s)
	return json.Marshal(&wireOne{Format: FormatVersion, Service: &ws})
}

// UnmarshalService decodes one service written by MarshalService and
// validates it, with Unmarshal's errors.
func UnmarshalService(b []byte) (Service, error) {
	var w wireOne
	if err := decode(b, &w); err != nil {
		return Service{}, err
	}
	if w.Service == nil {
		return Service{}, fmt.Errorf("%w: no service", ErrInvalid)
	}
	s := fromWire(w.Service)
	if err := s.Validate(); err != nil {
		return Service{}, err
	}
	return s, nil
}

// decode reads the format version first, so that a newer writer's data is
// refused for its version rather than for a field this reader lacks, then
// decodes strictly into v: an unknown field is an error. Data after the
// value is refused by the first read.
func decode(b []byte, v any) error {
	var head struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch {
	case head.Format == nil:
		return fmt.Errorf("%w: no format version", ErrUnsupportedFormat)
	case *head.Format > FormatVersion:
		return fmt.Errorf("%w: format %d is newer than this reader's %d; upgrade the reader", ErrUnsupportedFormat, *head.Format, FormatVersion)
	case *head.Format != FormatVersion:
		return fmt.Errorf("%w: format %d, this reader reads %d", ErrUnsupportedFormat, *head.Format, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}
