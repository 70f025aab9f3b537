package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// ManifestError reports one invalid document: which file, which document
// in that file (0-based, counting "---" separators), which field and why.
type ManifestError struct {
	File   string
	Doc    int
	Field  string // a JSON path such as "spec.ports[0].port"; empty when the whole document is at fault
	Reason string
	// Err is the cause when it is a sentinel worth matching, such as
	// ErrConflict; nil otherwise.
	Err error
}

func (e *ManifestError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: document %d: %s", e.File, e.Doc, e.Reason)
	}
	return fmt.Sprintf("%s: document %d: %s: %s", e.File, e.Doc, e.Field, e.Reason)
}

// Unwrap returns ErrInvalidManifest and the cause, if any.
func (e *ManifestError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidManifest, e.Err}
	}
	return []error{ErrInvalidManifest}
}

// ObjectMeta is the metadata every object carries.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// IntOrString is a Kubernetes port reference: a number or a name.
// The zero value is "unset".
type IntOrString struct {
	Int int32
	Str string
}

// UnmarshalJSON accepts a JSON number or string, as Kubernetes does;
// a string of digits is a number.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if n, err := strconv.ParseInt(s, 10, 32); err == nil {
			v.Int = int32(n)
			return nil
		}
		v.Str = s
		return nil
	}
	var n int32
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a port number or name: %w", err)
	}
	v.Int = n
	return nil
}

// ServicePort is one entry of spec.ports.
type ServicePort struct {
	Name        string      `json:"name"`
	Protocol    string      `json:"protocol"`
	Port        int32       `json:"port"`
	TargetPort  IntOrString `json:"targetPort"`
	NodePort    int32       `json:"nodePort"`
	AppProtocol string      `json:"appProtocol"`
}

// ServiceSpec is the part of a Service spec the node reads.
type ServiceSpec struct {
	Type                  string            `json:"type"`
	Selector              map[string]string `json:"selector"`
	Ports                 []ServicePort     `json:"ports"`
	ClusterIP             string            `json:"clusterIP"`
	ClusterIPs            []string          `json:"clusterIPs"`
	IPFamilies            []string          `json:"ipFamilies"`
	IPFamilyPolicy        string            `json:"ipFamilyPolicy"`
	ExternalName          string            `json:"externalName"`
	ExternalIPs           []string          `json:"externalIPs"`
	ExternalTrafficPolicy string            `json:"externalTrafficPolicy"`
	InternalTrafficPolicy string            `json:"internalTrafficPolicy"`
	SessionAffinity       string            `json:"sessionAffinity"`
	SessionAffinityConfig *struct {
		ClientIP *struct {
			TimeoutSeconds *int32 `json:"timeoutSeconds"`
		} `json:"clientIP"`
	} `json:"sessionAffinityConfig"`
	LoadBalancerIP           string   `json:"loadBalancerIP"`
	LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges"`
	PublishNotReadyAddresses bool     `json:"publishNotReadyAddresses"`
}

// Service is a core/v1 Service.
type Service struct {
	Metadata ObjectMeta  `json:"metadata"`
	Spec     ServiceSpec `json:"spec"`
	Status   struct {
		LoadBalancer struct {
			Ingress []struct {
				IP string `json:"ip"`
			} `json:"ingress"`
		} `json:"loadBalancer"`
	} `json:"status"`
	Source Source `json:"-"`
}

// ContainerPort is one entry of a container's ports.
type ContainerPort struct {
	Name          string `json:"name"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Container is the part of a container the node reads.
type Container struct {
	Name          string          `json:"name"`
	Ports         []ContainerPort `json:"ports"`
	RestartPolicy string          `json:"restartPolicy"`
}

// PodCondition is one entry of status.conditions.
type PodCondition struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// Pod is a core/v1 Pod as kubelet reports it.
type Pod struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		NodeName       string      `json:"nodeName"`
		Hostname       string      `json:"hostname"`
		Subdomain      string      `json:"subdomain"`
		Containers     []Container `json:"containers"`
		InitContainers []Container `json:"initContainers"`
	} `json:"spec"`
	Status struct {
		Phase  string `json:"phase"`
		PodIP  string `json:"podIP"`
		PodIPs []struct {
			IP string `json:"ip"`
		} `json:"podIPs"`
		Conditions []PodCondition `json:"conditions"`
	} `json:"status"`
	DeletionTimestamp string `json:"-"`
	Source            Source `json:"-"`
}

// Ready reports the pod's Ready condition.
func (p *Pod) Ready() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

// IPs returns the pod's addresses: status.podIPs, else status.podIP.
// Addresses were validated at load time.
func (p *Pod) IPs() []netip.Addr {
	var out []netip.Addr
	for _, ip := range p.Status.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			out = append(out, a)
		}
	}
	if len(out) == 0 && p.Status.PodIP != "" {
		if a, err := netip.ParseAddr(p.Status.PodIP); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// SliceEndpoint is one entry of an EndpointSlice's endpoints.
type SliceEndpoint struct {
	Addresses  []string `json:"addresses"`
	Conditions struct {
		Ready       *bool `json:"ready"`
		Serving     *bool `json:"serving"`
		Terminating *bool `json:"terminating"`
	} `json:"conditions"`
	Hostname  *string `json:"hostname"`
	NodeName  *string `json:"nodeName"`
	Zone      *string `json:"zone"`
	TargetRef *struct {
		Kind      string `json:"kind"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"targetRef"`
}

// SlicePort is one entry of an EndpointSlice's ports.
type SlicePort struct {
	Name        *string `json:"name"`
	Protocol    *string `json:"protocol"`
	Port        *int32  `json:"port"`
	AppProtocol *string `json:"appProtocol"`
}

// EndpointSlice is a discovery.k8s.io/v1 EndpointSlice, used for services
// without a selector.
type EndpointSlice struct {
	Metadata    ObjectMeta      `json:"metadata"`
	AddressType string          `json:"addressType"`
	Endpoints   []SliceEndpoint `json:"endpoints"`
	Ports       []SlicePort     `json:"ports"`
	Source      Source          `json:"-"`
}

// ServiceName returns the kubernetes.io/service-name label.
func (s *EndpointSlice) ServiceName() string { return s.Metadata.Labels[LabelServiceName] }

// Node is a core/v1 Node: its zone and addresses.
type Node struct {
	Metadata ObjectMeta `json:"metadata"`
	Status   struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
	} `json:"status"`
	Source Source `json:"-"`
}

// Zone returns the topology.kubernetes.io/zone label.
func (n *Node) Zone() string { return n.Metadata.Labels[LabelZone] }

// Well-known labels.
const (
	LabelServiceName = "kubernetes.io/service-name"
	LabelZone        = "topology.kubernetes.io/zone"
)

// Source says where an object was read.
type Source struct {
	File string
	Doc  int
}

// Manifests is everything read from a directory. Errors holds one
// *ManifestError per rejected document; the other documents are kept.
// The zero value is an empty set.
type Manifests struct {
	Services []Service
	Pods     []Pod
	Slices   []EndpointSlice
	Nodes    []Node
	Errors   []error
}

// LoadDir reads every *.yaml, *.yml and *.json file in dir (not
// recursively; names starting with "." are skipped), in name order.
// Its error is only for an unreadable directory or file; invalid
// documents are collected in Manifests.Errors.
func LoadDir(dir string) (*Manifests, error) {
	names, err := manifestFiles(dir)
	if err != nil {
		return nil, err
	}
	m := &Manifests{}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("manifests %q: %w", dir, err)
		}
		m.add(name, data)
	}
	m.checkDuplicates()
	return m, nil
}

func manifestFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("manifests %q: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		switch filepath.Ext(n) {
		case ".yaml", ".yml", ".json":
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// LoadManifest parses one multi-document file's contents; file names the
// source in errors.
func LoadManifest(file string, data []byte) *Manifests {
	m := &Manifests{}
	m.add(file, data)
	m.checkDuplicates()
	return m
}

func (m *Manifests) add(file string, data []byte) {
	for i, doc := range splitDocuments(data) {
		if err := m.addDocument(Source{File: file, Doc: i}, doc); err != nil {
			m.Errors = append(m.Errors, err)
		}
	}
}

// splitDocuments cuts a YAML stream at "---" lines, the document
// separator of the YAML spec; the documents themselves go to the YAML
// library.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		t := bytes.TrimRight(line, " \t\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) || bytes.HasPrefix(t, []byte("---\t")) {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

func (m *Manifests) addDocument(src Source, doc []byte) error {
	fail := func(field, format string, args ...any) error {
		return &ManifestError{File: src.File, Doc: src.Doc, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fail("", "invalid YAML: %v", err)
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || bytes.Equal(js, []byte("null")) {
		return nil // an empty document, as between two "---"
	}
	if js[0] != '{' {
		return fail("", "want a mapping with apiVersion and kind")
	}
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return jsonError(src, err)
	}
	if tm.Kind == "" {
		return fail("kind", "required")
	}
	if tm.Kind == "List" {
		return m.addList(src, js)
	}
	want, ok := apiVersions[tm.Kind]
	if !ok {
		return fail("kind", "unsupported kind %q (want Service, Pod, EndpointSlice or Node)", tm.Kind)
	}
	if tm.APIVersion != want {
		return fail("apiVersion", "%q for kind %s; want %q", tm.APIVersion, tm.Kind, want)
	}
	switch tm.Kind {
	case "Service":
		var s Service
		if err := strictish(js, &s); err != nil {
			return jsonError(src, err)
		}
		s.Source = src
		if err := validateService(&s); err != nil {
			return withSource(src, err)
		}
		m.Services = append(m.Services, s)
	case "Pod":
		var p Pod
		if err := strictish(js, &p); err != nil {
			return jsonError(src, err)
		}
		var md struct {
			Metadata struct {
				DeletionTimestamp string `json:"deletionTimestamp"`
			} `json:"metadata"`
		}
		_ = json.Unmarshal(js, &md) // the typed decode above already succeeded
		p.DeletionTimestamp = md.Metadata.DeletionTimestamp
		p.Source = src
		if err := validatePod(&p); err != nil {
			return withSource(src, err)
		}
		m.Pods = append(m.Pods, p)
	case "EndpointSlice":
		var s EndpointSlice
		if err := strictish(js, &s); err != nil {
			return jsonError(src, err)
		}
		s.Source = src
		if err := validateSlice(&s); err != nil {
			return withSource(src, err)
		}
		m.Slices = append(m.Slices, s)
	case "Node":
		var n Node
		if err := strictish(js, &n); err != nil {
			return jsonError(src, err)
		}
		n.Source = src
		if err := validateNode(&n); err != nil {
			return withSource(src, err)
		}
		m.Nodes = append(m.Nodes, n)
	}
	return nil
}

// addList accepts a v1 List, as `kubectl get -o yaml` writes; its items
// share the document's index.
func (m *Manifests) addList(src Source, js []byte) error {
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &l); err != nil {
		return jsonError(src, err)
	}
	var errs []error
	for i, it := range l.Items {
		if err := m.addDocument(src, it); err != nil {
			var me *ManifestError
			if errors.As(err, &me) {
				me.Field = joinField(fmt.Sprintf("items[%d]", i), me.Field)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var apiVersions = map[string]string{
	"Service":       "v1",
	"Pod":           "v1",
	"Node":          "v1",
	"EndpointSlice": "discovery.k8s.io/v1",
}

// strictish decodes leniently about unknown fields (manifests carry many
// the node does not read) but reports type mismatches.
func strictish(js []byte, v any) error { return json.Unmarshal(js, v) }

func jsonError(src Source, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &ManifestError{File: src.File, Doc: src.Doc, Field: te.Field, Reason: fmt.Sprintf("cannot use %s as %s", te.Value, te.Type)}
	}
	return &ManifestError{File: src.File, Doc: src.Doc, Reason: err.Error()}
}

// fieldError is a validation failure before the source is attached.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// ferr builds a fieldError; format may use %w.
func ferr(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

// withSource places err at src. A context prefix wrapped around a
// fieldError (such as "service default/x") stays in the reason.
func withSource(src Source, err error) error {
	me := &ManifestError{File: src.File, Doc: src.Doc, Reason: err.Error()}
	var fe *fieldError
	if errors.As(err, &fe) {
		me.Field = fe.field
		prefix := strings.TrimSuffix(err.Error(), fe.Error())
		me.Reason = prefix + fe.err.Error()
	}
	if errors.Is(err, ErrConflict) {
		me.Err = ErrConflict
	}
	return me
}

func joinField(a, b string) string {
	if b == "" {
		return a
	}
	return a + "." + b
}

// checkDuplicates rejects a second object of one kind with the same
// namespace and name; the first one read wins.
func (m *Manifests) checkDuplicates() {
	seen := map[string]Source{}
	dup := func(kind string, md ObjectMeta, src Source) bool {
		k := kind + "/" + md.Namespace + "/" + md.Name
		if first, ok := seen[k]; ok {
			m.Errors = append(m.Errors, &ManifestError{File: src.File, Doc: src.Doc, Field: "metadata.name",
				Reason: fmt.Sprintf("%s %s/%s already defined in %s document %d", kind, md.Namespace, md.Name, first.File, first.Doc)})
			return true
		}
		seen[k] = src
		return false
	}
	m.Services = filter(m.Services, func(s Service) bool { return !dup("Service", s.Metadata, s.Source) })
	m.Pods = filter(m.Pods, func(p Pod) bool { return !dup("Pod", p.Metadata, p.Source) })
	m.Slices = filter(m.Slices, func(s EndpointSlice) bool { return !dup("EndpointSlice", s.Metadata, s.Source) })
	m.Nodes = filter(m.Nodes, func(n Node) bool { return !dup("Node", n.Metadata, n.Source) })
}

func filter[T any](in []T, keep func(T) bool) []T {
	out := in[:0]
	for _, v := range in {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}
