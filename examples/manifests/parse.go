package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"
)

// kind numbers the object kinds a directory may hold.
type kind uint8

const (
	kindService kind = iota
	kindPod
	kindSlice
	kindNode
)

var kindNames = [...]string{"Service", "Pod", "EndpointSlice", "Node"}

// apiVersions maps each supported kind to the one apiVersion it accepts.
var apiVersions = map[string]struct {
	kind    kind
	version string
}{
	"Service":       {kindService, "v1"},
	"Pod":           {kindPod, "v1"},
	"EndpointSlice": {kindSlice, "discovery.k8s.io/v1"},
	"Node":          {kindNode, "v1"},
}

// objKey identifies an object: two documents with one key are duplicates.
type objKey struct {
	kind            kind
	namespace, name string
}

func (k objKey) String() string {
	return kindNames[k.kind] + " " + k.namespace + "/" + k.name
}

// object is one accepted document of a file. Exactly one of the pointers
// is set.
type object struct {
	key   objKey
	svc   *Service
	pod   *Pod
	slice *EndpointSlice
	node  *Node
}

// claim is a document that names an object, accepted or not: a refused
// document still holds its name against a duplicate elsewhere.
type claim struct {
	key objKey
	src Source
}

// parsed is what one file yields. It is immutable once built and cached
// by the Loader until the file changes.
type parsed struct {
	objects    []object
	claims     []claim
	errs       []*Error // per-document errors, in document order, at most maxErrorsPerFile
	suppressed int      // errors past maxErrorsPerFile
}

// maxErrorsPerFile bounds what one file can put in a Load's errors: a 4 MiB
// file of bad one-line documents would otherwise yield hundreds of
// thousands. The rest are counted in one summary error.
const maxErrorsPerFile = 100

// parseFile parses one file's contents; name places it in errors.
func parseFile(name string, data []byte, cfg *Config) *parsed {
	p := &parsed{}
	docs, bad := splitDocuments(data)
	for i, doc := range docs {
		p.addDocument(Source{File: name, Doc: i}, doc, "", cfg)
	}
	if bad != nil {
		p.fail(Source{File: name, Doc: len(docs)}, "", reasonf(ErrInvalid,
			"invalid YAML document separator %q: the rest of the file is not read", bad))
	}
	if p.suppressed > 0 {
		p.errs = append(p.errs, &Error{File: name, Doc: len(docs) - 1,
			Err: reasonf(ErrInvalid, "%d more errors in this file not listed", p.suppressed)})
	}
	return p
}

// splitDocuments cuts a YAML stream into documents as Kubernetes' YAML
// reader does (k8s.io/apimachinery/pkg/util/yaml, v0.37.2): at each line
// that begins with "---" and has only spaces or a comment after it. Each
// document then goes to the YAML library alone, so that one bad document
// does not hide the others. A line that begins with "---" and goes on with
// anything else ("--- foo", "----") makes that reader fail, so it ends the
// stream: splitDocuments returns the documents before it, and the line.
func splitDocuments(data []byte) (docs [][]byte, bad []byte) {
	start := 0
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		line := data[i:next]
		if rest, ok := bytes.CutPrefix(line, []byte("---")); ok {
			docs = append(docs, data[start:i])
			if rest = bytes.TrimSpace(rest); len(rest) > 0 && rest[0] != '#' {
				return docs, bytes.TrimSpace(line)
			}
			start = next
		}
		i = next
	}
	return append(docs, data[start:]), nil
}

func (p *parsed) fail(src Source, field string, err error) {
	if len(p.errs) >= maxErrorsPerFile {
		p.suppressed++
		return
	}
	p.errs = append(p.errs, &Error{File: src.File, Doc: src.Doc, Field: field, Err: err})
}

// addDocument parses one document (or, with prefix set, one item of a
// List) and records the object or the error.
func (p *parsed) addDocument(src Source, doc []byte, prefix string, cfg *Config) {
	js := doc
	var h rawHeader
	headerOK := false
	if prefix == "" {
		if d, ok := fastDecode(doc); ok {
			js, h, headerOK = d.js, d.header, d.headerOK
		} else {
			var err error
			if js, err = yaml.YAMLToJSON(doc); err != nil {
				p.fail(src, "", reasonf(ErrInvalid, "invalid YAML: %v", err))
				return
			}
		}
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || bytes.Equal(js, []byte("null")) {
		return // an empty document, as between two "---" or in a cut file
	}
	if js[0] != '{' {
		p.fail(src, prefix, reasonf(ErrInvalid, "want a mapping with apiVersion and kind"))
		return
	}
	if !headerOK {
		if err := json.Unmarshal(js, &h); err != nil {
			p.failJSON(src, prefix, err)
			return
		}
	}
	if h.Kind == "List" && prefix == "" {
		p.addList(src, js, cfg)
		return
	}
	k, field, err := checkHeader(&h)
	if err != nil {
		p.fail(src, joinField(prefix, field), err)
		return
	}
	key := objKey{k, h.Metadata.Namespace, h.Metadata.Name}
	switch {
	case k == kindNode:
		key.namespace = "" // nodes are cluster-scoped
	case key.namespace == "":
		key.namespace = "default"
	}
	if key.name != "" {
		p.claims = append(p.claims, claim{key, src})
	}
	obj, ferr, jerr := decodeObject(k, js, src, cfg)
	switch {
	case jerr != nil:
		p.failJSON(src, prefix, jerr)
	case ferr != nil:
		p.fail(src, joinField(prefix, ferr.field), ferr.err)
	default:
		obj.key = key
		p.objects = append(p.objects, obj)
	}
}

// addList accepts a v1 List, as `kubectl get -o yaml` writes one; its items
// share the document's index and their fields are prefixed "items[i]".
func (p *parsed) addList(src Source, js []byte, cfg *Config) {
	var l struct {
		APIVersion string            `json:"apiVersion"`
		Items      []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &l); err != nil {
		p.failJSON(src, "", err)
		return
	}
	if l.APIVersion != "v1" {
		p.fail(src, "apiVersion", reasonf(ErrInvalid, "%q for kind List; want \"v1\"", l.APIVersion))
		return
	}
	for i, it := range l.Items {
		p.addDocument(src, it, fmt.Sprintf("items[%d]", i), cfg)
	}
}

// checkHeader checks kind and apiVersion.
func checkHeader(h *rawHeader) (kind, string, error) {
	if h.Kind == "" {
		return 0, "kind", reasonf(ErrInvalid, "required")
	}
	av, ok := apiVersions[h.Kind]
	if !ok {
		return 0, "kind", reasonf(ErrInvalid, "unsupported kind %q (want Service, Pod, EndpointSlice, Node or List)", h.Kind)
	}
	if h.APIVersion != av.version {
		return 0, "apiVersion", reasonf(ErrInvalid, "%q for kind %s; want %q", h.APIVersion, h.Kind, av.version)
	}
	return av.kind, "", nil
}

// decodeObject decodes and checks one object of kind k. A JSON type error
// comes back as jerr, a failed check as ferr.
func decodeObject(k kind, js []byte, src Source, cfg *Config) (obj object, ferr *fieldError, jerr error) {
	switch k {
	case kindService:
		var r rawService
		if jerr = json.Unmarshal(js, &r); jerr == nil {
			obj.svc, ferr = toService(&r, src, cfg)
		}
	case kindPod:
		var r rawPod
		if jerr = json.Unmarshal(js, &r); jerr == nil {
			obj.pod, ferr = toPod(&r, src)
		}
	case kindSlice:
		var r rawSlice
		if jerr = json.Unmarshal(js, &r); jerr == nil {
			obj.slice, ferr = toSlice(&r, src)
		}
	case kindNode:
		var r rawNode
		if jerr = json.Unmarshal(js, &r); jerr == nil {
			obj.node, ferr = toNode(&r, src)
		}
	}
	return obj, ferr, jerr
}

// failJSON reports a JSON decoding error, at the field of a type mismatch.
func (p *parsed) failJSON(src Source, prefix string, err error) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		p.fail(src, joinField(prefix, te.Field), reasonf(ErrInvalid, "cannot use %s as %s", te.Value, te.Type))
		return
	}
	p.fail(src, prefix, reasonf(ErrInvalid, "%v", err))
}

func joinField(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "." + b
}
