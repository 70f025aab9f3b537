package manifests

import (
	"bytes"
	"slices"
)

// fastDoc is what the fast path makes of a document: its JSON and, when
// headerOK, the apiVersion, kind, name and namespace json.Unmarshal would
// put in a rawHeader (the header's other fields stay empty), read from the
// parsed tree to save a decoding of the JSON.
type fastDoc struct {
	js       []byte
	header   rawHeader
	headerOK bool
}

// fastDecode converts one YAML document to the JSON that
// sigs.k8s.io/yaml.YAMLToJSON (v1.4.0, YAML 1.1 through its goyaml.v2
// fork) makes of it, byte for byte, for a strict subset of YAML: block
// mappings and sequences, one-line flow mappings and sequences, one-line
// plain, single- and double-quoted scalars, and comments, in printable
// ASCII. It reports false for anything outside that subset, and for every
// scalar whose YAML 1.1 resolution it does not pin exactly (floats, octal
// and hexadecimal numbers, timestamps, .inf, merge keys, non-string keys,
// duplicate keys...): the caller then takes the document to YAMLToJSON,
// which also writes the error messages of invalid documents. It exists
// because YAMLToJSON builds a tree of interfaces and marshals it again,
// ~33 µs and 309 allocations for a five-line Pod, which under churn is most
// of a reload's cost. FuzzFastYAML holds the two equal. It also reads the
// document's header from the parsed tree (see fastDoc).
func fastDecode(doc []byte) (fastDoc, bool) {
	for _, c := range doc {
		// Tabs, carriage returns, control characters and non-ASCII bytes
		// (with their UTF-8 checks, BOMs and YAML 1.1's line breaks
		// U+0085, U+2028) all go the slow way.
		if (c < ' ' && c != '\n') || c > '~' {
			return fastDoc{}, false
		}
	}
	// The churn's Pod has a node for every 11 bytes; denser documents
	// ("[1, 2, 3]") grow the slice.
	p := fastParser{src: doc, nodes: make([]ynode, 0, len(doc)/10+8)}
	root, ok := p.parseDoc()
	if !ok {
		return fastDoc{}, false
	}
	// The mappings being written never hold more children than there are
	// nodes, so order never grows.
	p.order = make([]int32, 0, len(p.nodes))
	var d fastDoc
	if d.js, ok = p.emit(make([]byte, 0, len(doc)+len(doc)/4), root); !ok {
		return fastDoc{}, false
	}
	d.header, d.headerOK = p.header(root)
	return d, true
}

// header reads a rawHeader's apiVersion, kind, name and namespace from the
// tree, and reports false where json.Unmarshal might not read the same or
// would fail: a value of another type in any of rawHeader's fields, or a
// key that matches one only case-insensitively, as encoding/json matches.
func (p *fastParser) header(root int32) (h rawHeader, ok bool) {
	if p.nodes[root].kind != ynMap {
		return h, false
	}
	for c := p.nodes[root].first; c >= 0; c = p.nodes[c].next {
		switch key := p.nodes[c].key; string(key) {
		case "apiVersion":
			ok = p.headerString(c, &h.APIVersion)
		case "kind":
			ok = p.headerString(c, &h.Kind)
		case "metadata":
			ok = p.headerMeta(c, &h.Metadata)
		default:
			ok = !bytes.EqualFold(key, []byte("apiVersion")) && !bytes.EqualFold(key, []byte("kind")) &&
				!bytes.EqualFold(key, []byte("metadata"))
		}
		if !ok {
			return h, false
		}
	}
	return h, true
}

func (p *fastParser) headerMeta(n int32, m *rawMeta) bool {
	first, ok := p.mapOrNull(n)
	if !ok {
		return false
	}
	for c := first; c >= 0; c = p.nodes[c].next {
		var ok bool
		switch key := p.nodes[c].key; string(key) {
		case "name":
			ok = p.headerString(c, &m.Name)
		case "namespace":
			ok = p.headerString(c, &m.Namespace)
		case "deletionTimestamp":
			var ts string
			ok = p.headerString(c, &ts)
		case "labels", "annotations":
			ok = p.stringMap(c)
		default:
			ok = true
			for _, f := range [...]string{"name", "namespace", "deletionTimestamp", "labels", "annotations"} {
				ok = ok && !bytes.EqualFold(key, []byte(f))
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// mapOrNull returns the first child of node n when it is a mapping, -1
// when it is null (which json decodes into a struct or map as nothing),
// and false for any other node.
func (p *fastParser) mapOrNull(n int32) (int32, bool) {
	switch p.nodes[n].kind {
	case ynNull:
		return -1, true
	case ynMap:
		return p.nodes[n].first, true
	}
	return -1, false
}

// headerString sets *s to node n's string; json leaves a string field as
// it is for null.
func (p *fastParser) headerString(n int32, s *string) bool {
	switch nd := &p.nodes[n]; nd.kind {
	case ynString:
		*s = string(nd.text)
	case ynNull:
	default:
		return false
	}
	return true
}

// stringMap reports whether node n decodes into a map[string]string.
func (p *fastParser) stringMap(n int32) bool {
	first, ok := p.mapOrNull(n)
	if !ok {
		return false
	}
	for c := first; c >= 0; c = p.nodes[c].next {
		if k := p.nodes[c].kind; k != ynString && k != ynNull {
			return false
		}
	}
	return true
}

type ynKind uint8

const (
	ynNull ynKind = iota
	ynTrue
	ynFalse
	ynInt    // text is a decimal literal JSON takes as it is
	ynString // text is the scalar's value
	ynMap
	ynSeq
)

// ynode is a node of the parsed document; children form a list through
// first and next, and a mapping's children carry their key.
type ynode struct {
	kind        ynKind
	key, text   []byte
	first, last int32 // children; -1 when none
	next        int32 // next sibling; -1 for the last
}

const (
	// maxFastDepth bounds the parser's recursion; deeper documents take
	// the slow way, which has limits of its own.
	maxFastDepth = 64
	// maxSimpleKey is below libyaml's 1,024-character limit on an
	// implicit key, past which YAMLToJSON refuses the document.
	maxSimpleKey = 1000
)

// fastParser is one document's conversion. i is the cursor, ls the start
// of the cursor's line, so that i-ls is the cursor's column.
type fastParser struct {
	src    []byte
	i, ls  int
	depth  int
	nodes  []ynode
	order  []int32 // sorted children of the mappings being written
	escape []byte  // unescaped quoted scalars
}

func (p *fastParser) node(k ynKind, text []byte) int32 {
	p.nodes = append(p.nodes, ynode{kind: k, text: text, first: -1, last: -1, next: -1})
	return int32(len(p.nodes) - 1)
}

func (p *fastParser) add(parent, child int32, key []byte) {
	p.nodes[child].key = key
	if l := p.nodes[parent].last; l >= 0 {
		p.nodes[l].next = child
	} else {
		p.nodes[parent].first = child
	}
	p.nodes[parent].last = child
}

func (p *fastParser) at(i int) byte {
	if i < len(p.src) {
		return p.src[i]
	}
	return '\n' // the end of the document ends a line
}

func (p *fastParser) blankAt(i int) bool { c := p.at(i); return c == ' ' || c == '\n' }

func (p *fastParser) skipSpaces() {
	for p.i < len(p.src) && p.src[p.i] == ' ' {
		p.i++
	}
}

// atLineEnd reports whether only a comment or nothing is left on the line.
func (p *fastParser) atLineEnd() bool {
	c := p.at(p.i)
	return c == '\n' || (c == '#' && p.i > p.ls && p.src[p.i-1] == ' ')
}

func (p *fastParser) toNextLine() {
	if j := bytes.IndexByte(p.src[p.i:], '\n'); j >= 0 {
		p.i += j + 1
	} else {
		p.i = len(p.src)
	}
	p.ls = p.i
}

// endLine consumes the rest of the line, which must be blank or a comment.
func (p *fastParser) endLine() bool {
	p.skipSpaces()
	if !p.atLineEnd() {
		return false
	}
	p.toNextLine()
	return true
}

// nextContent moves the cursor to the next line's content past blank and
// comment lines and returns its column, or -1 at the end of the document.
func (p *fastParser) nextContent() int {
	for {
		p.skipSpaces()
		if p.i == len(p.src) {
			return -1
		}
		if c := p.src[p.i]; c != '\n' && c != '#' {
			return p.i - p.ls
		}
		p.toNextLine()
	}
}

// atDash reports whether a block sequence entry starts at the cursor.
func (p *fastParser) atDash() bool { return p.at(p.i) == '-' && p.blankAt(p.i+1) }

// colonNext reports whether a mapping value indicator is at the cursor.
func (p *fastParser) colonNext() bool { return p.at(p.i) == ':' && p.blankAt(p.i+1) }

func (p *fastParser) enter() bool {
	p.depth++
	return p.depth <= maxFastDepth
}

// parseDoc parses a document whose root is a block mapping; an empty
// document is null, as YAMLToJSON has it.
func (p *fastParser) parseDoc() (int32, bool) {
	col := p.nextContent()
	if col < 0 {
		return p.node(ynNull, nil), true
	}
	root, ok := p.parseMap(col)
	return root, ok && p.nextContent() < 0
}

func (p *fastParser) parseBlock(col int) (int32, bool) {
	if p.atDash() {
		return p.parseSeq(col)
	}
	return p.parseMap(col)
}

// parseMap parses a block mapping whose keys sit at column col, the first
// one at the cursor.
func (p *fastParser) parseMap(col int) (int32, bool) {
	defer func() { p.depth-- }()
	if !p.enter() {
		return -1, false
	}
	m := p.node(ynMap, nil)
	for {
		key, ok := p.parseKey(false)
		if !ok {
			return -1, false
		}
		v, ok := p.parseMapValue(col)
		if !ok {
			return -1, false
		}
		p.add(m, v, key)
		switch next := p.nextContent(); {
		case next < col:
			return m, true
		case next > col:
			return -1, false // a continuation line, or an indentation error
		}
	}
}

// parseMapValue parses the value after a block mapping's "key:".
func (p *fastParser) parseMapValue(col int) (int32, bool) {
	p.skipSpaces()
	if !p.atLineEnd() {
		v, ok := p.parseInline(false)
		return v, ok && p.endLine()
	}
	p.toNextLine()
	next := p.nextContent()
	switch {
	case next > col:
		return p.parseBlock(next)
	case next == col && p.atDash():
		// A sequence may sit at its key's indentation.
		return p.parseSeq(col)
	}
	return p.node(ynNull, nil), true
}

// parseSeq parses a block sequence whose dashes sit at column col, the
// first one at the cursor.
func (p *fastParser) parseSeq(col int) (int32, bool) {
	defer func() { p.depth-- }()
	if !p.enter() {
		return -1, false
	}
	s := p.node(ynSeq, nil)
	for {
		p.i++ // the dash
		p.skipSpaces()
		item, ok := p.parseSeqItem(col)
		if !ok {
			return -1, false
		}
		p.add(s, item, nil)
		switch next := p.nextContent(); {
		case next < col:
			return s, true
		case next > col:
			return -1, false
		case !p.atDash():
			return s, true // the next key of a mapping at the same column
		}
	}
}

// parseSeqItem parses what follows a block sequence's "- ".
func (p *fastParser) parseSeqItem(col int) (int32, bool) {
	if p.atLineEnd() {
		p.toNextLine()
		if next := p.nextContent(); next > col {
			return p.parseBlock(next)
		}
		return p.node(ynNull, nil), true
	}
	if p.atDash() {
		return -1, false // "- - x": a compact nested sequence
	}
	start, n := p.i, len(p.nodes)
	v, ok := p.parseInline(false)
	if !ok {
		return -1, false
	}
	if p.colonNext() {
		// "- key: value" opens a mapping at the key's column.
		p.i, p.nodes = start, p.nodes[:n]
		return p.parseMap(start - p.ls)
	}
	return v, p.endLine()
}

// parseKey parses a mapping key and its ':'. Only keys that YAML 1.1
// resolves to strings are taken: YAMLToJSON turns an int, bool or float
// key into its own spelling of it, and refuses a null one.
func (p *fastParser) parseKey(flow bool) ([]byte, bool) {
	start := p.i
	var key []byte
	var ok bool
	switch p.at(p.i) {
	case '"':
		key, ok = p.scanDouble()
	case '\'':
		key, ok = p.scanSingle()
	default:
		var k ynKind
		if key, ok = p.scanPlain(flow); ok {
			k, ok = resolvePlain(key)
			ok = ok && k == ynString
		}
	}
	if !ok || p.i-start > maxSimpleKey || !p.colonNext() {
		return nil, false
	}
	p.i++
	return key, true
}

// parseInline parses a scalar or a one-line flow collection at the cursor.
func (p *fastParser) parseInline(flow bool) (int32, bool) {
	switch p.at(p.i) {
	case '{':
		return p.parseFlow(ynMap)
	case '[':
		return p.parseFlow(ynSeq)
	case '"':
		s, ok := p.scanDouble()
		return p.node(ynString, s), ok
	case '\'':
		s, ok := p.scanSingle()
		return p.node(ynString, s), ok
	}
	s, ok := p.scanPlain(flow)
	if !ok {
		return -1, false
	}
	k, ok := resolvePlain(s)
	return p.node(k, s), ok
}

// parseFlow parses a flow mapping or sequence that ends on its line.
func (p *fastParser) parseFlow(k ynKind) (int32, bool) {
	defer func() { p.depth-- }()
	if !p.enter() {
		return -1, false
	}
	closer := byte(']')
	if k == ynMap {
		closer = '}'
	}
	n := p.node(k, nil)
	p.i++
	p.skipSpaces()
	if p.at(p.i) == closer {
		p.i++
		return n, true
	}
	for {
		var key []byte
		if k == ynMap {
			var ok bool
			if key, ok = p.parseKey(true); !ok {
				return -1, false
			}
			p.skipSpaces()
		}
		v, ok := p.parseInline(true)
		if !ok || p.colonNext() {
			return -1, false // a failed item, or a single-pair mapping in a sequence
		}
		p.add(n, v, key)
		p.skipSpaces()
		switch p.at(p.i) {
		case closer:
			p.i++
			return n, true
		case ',':
			p.i++
			p.skipSpaces()
			if c := p.at(p.i); c == closer || c == ',' {
				return -1, false // YAML allows a trailing comma; it is rare, and not ours to pin
			}
		default:
			return -1, false
		}
	}
}

// scanPlain scans a one-line plain scalar at the cursor, leaving the
// cursor after its last non-space character. A plain scalar may start only
// with a letter, a digit, '_', '/', '~' or a '-' before a digit: YAML's
// indicators and the rarer characters go the slow way.
func (p *fastParser) scanPlain(flow bool) ([]byte, bool) {
	start := p.i
	if c := p.at(start); !plainFirst(c) && (c != '-' || !isDigit(p.at(start+1))) {
		return nil, false
	}
	end := start
scan:
	for i := start; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '\n':
			break scan
		case c == ' ':
			continue
		case c == '#' && p.src[i-1] == ' ':
			if flow {
				return nil, false // the rest of a flow collection commented out
			}
			break scan
		case c == ':' && p.blankAt(i+1):
			break scan
		case flow && (c == ',' || c == '[' || c == ']' || c == '{' || c == '}'):
			break scan
		case flow && (c == ':' || c == '?'):
			return nil, false
		}
		end = i + 1
	}
	p.i = end
	return p.src[start:end], true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func plainFirst(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || isDigit(c) || c == '_' || c == '/' || c == '~'
}

// resolvePlain resolves a plain scalar as goyaml.v2 does YAML 1.1's
// implicit types, for the scalars whose resolution is certain, and
// reports false for the others. The rules (goyaml.v2 resolve.go, after
// yaml.org/type/bool.html and null.html):
//   - "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|
//     on|On|ON|off|Off|OFF" is a bool; "~|null|Null|NULL" (or nothing) is null;
//   - a scalar starting with '+', '-', '.' or a digit may be an int in any
//     base Go's strconv.ParseInt(s, 0, 64) takes once '_' is removed
//     (so "0755" is octal 493 and "0x1F" is 31), a float, a timestamp
//     "2006-1-2...", ".inf" or ".nan"; here only plain decimals without a
//     leading zero are taken as ints, and dotted digits with two dots or
//     more ("10.0.0.1", "1.2.3"), which none of those rules match, as
//     strings;
//   - any other scalar is a string.
func resolvePlain(s []byte) (ynKind, bool) {
	switch string(s) {
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return ynTrue, true
	case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return ynFalse, true
	case "~", "null", "Null", "NULL":
		return ynNull, true
	}
	switch c := s[0]; {
	case c == '-' || isDigit(c):
		switch {
		case decimalInt(s):
			return ynInt, true
		case c != '-' && dottedDigits(s):
			return ynString, true
		}
		return 0, false
	case c == '+' || c == '.':
		return 0, false
	}
	return ynString, true
}

// decimalInt reports whether s is "0" or a decimal of up to 18 digits
// without a leading zero (so it fits an int64), optionally negative.
func decimalInt(s []byte) bool {
	if string(s) == "0" {
		return true
	}
	if s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 || s[0] == '0' {
		return false
	}
	for _, c := range s {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// dottedDigits reports whether s is digits and at least two dots.
func dottedDigits(s []byte) bool {
	dots := 0
	for _, c := range s {
		switch {
		case c == '.':
			dots++
		case !isDigit(c):
			return false
		}
	}
	return dots >= 2
}

// scanDouble scans a one-line double-quoted scalar at the cursor.
func (p *fastParser) scanDouble() ([]byte, bool) {
	start := p.i + 1
	for i := start; i < len(p.src); i++ {
		switch p.src[i] {
		case '"':
			p.i = i + 1
			return p.src[start:i], true
		case '\\':
			return p.unescapeDouble(start)
		case '\n':
			return nil, false
		}
	}
	return nil, false
}

// unescapeDouble decodes a double-quoted scalar with escapes; it takes
// only the common ones YAML 1.1 and JSON share (not "\/", which YAML 1.1
// lacks), and leaves the others ("\x41", "\N", "\e", line folding...) to
// the slow way.
func (p *fastParser) unescapeDouble(start int) ([]byte, bool) {
	b := len(p.escape)
	for i := start; i < len(p.src); i++ {
		c := p.src[i]
		switch c {
		case '"':
			p.i = i + 1
			return p.escape[b:len(p.escape):len(p.escape)], true
		case '\n':
			return nil, false
		case '\\':
			i++
			switch c = p.at(i); c {
			case '\\', '"':
			case 'n':
				c = '\n'
			case 't':
				c = '\t'
			case 'r':
				c = '\r'
			default:
				return nil, false
			}
		}
		p.escape = append(p.escape, c)
	}
	return nil, false
}

// scanSingle scans a one-line single-quoted scalar at the cursor, in
// which two quotes in a row stand for one.
func (p *fastParser) scanSingle() ([]byte, bool) {
	start := p.i + 1
	b := len(p.escape)
	plain := true // no "''" so far: the value is a slice of the source
	for i := start; i < len(p.src); i++ {
		switch c := p.src[i]; c {
		case '\'':
			if p.at(i+1) != '\'' {
				p.i = i + 1
				if plain {
					return p.src[start:i], true
				}
				return p.escape[b:len(p.escape):len(p.escape)], true
			}
			if plain {
				p.escape = append(p.escape, p.src[start:i]...)
				plain = false
			}
			p.escape = append(p.escape, '\'')
			i++
		case '\n':
			return nil, false
		default:
			if !plain {
				p.escape = append(p.escape, c)
			}
		}
	}
	return nil, false
}

// emit writes node n as encoding/json writes what YAMLToJSON decodes: maps
// with sorted keys, HTML-safe strings. It reports false on a duplicate key,
// which YAMLToJSON resolves in an order of its own.
func (p *fastParser) emit(out []byte, n int32) ([]byte, bool) {
	nd := &p.nodes[n]
	switch nd.kind {
	case ynNull:
		return append(out, "null"...), true
	case ynTrue:
		return append(out, "true"...), true
	case ynFalse:
		return append(out, "false"...), true
	case ynInt:
		return append(out, nd.text...), true
	case ynString:
		return appendJSONString(out, nd.text), true
	case ynSeq:
		out = append(out, '[')
		for c := nd.first; c >= 0; c = p.nodes[c].next {
			if c != nd.first {
				out = append(out, ',')
			}
			var ok bool
			if out, ok = p.emit(out, c); !ok {
				return nil, false
			}
		}
		return append(out, ']'), true
	}
	base := len(p.order)
	for c := nd.first; c >= 0; c = p.nodes[c].next {
		p.order = append(p.order, c)
	}
	// The children's own emits append to p.order past kids and truncate
	// back to their own base.
	kids := p.order[base:]
	slices.SortFunc(kids, func(a, b int32) int { return bytes.Compare(p.nodes[a].key, p.nodes[b].key) })
	out = append(out, '{')
	for j, c := range kids {
		key := p.nodes[c].key
		if j > 0 {
			if bytes.Equal(key, p.nodes[kids[j-1]].key) {
				return nil, false
			}
			out = append(out, ',')
		}
		out = appendJSONString(out, key)
		out = append(out, ':')
		var ok bool
		if out, ok = p.emit(out, c); !ok {
			return nil, false
		}
	}
	p.order = p.order[:base]
	return append(out, '}'), true
}

// appendJSONString appends s quoted as encoding/json quotes an ASCII
// string, with its HTML escapes.
func appendJSONString(out, s []byte) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	start := 0
	for i, c := range s {
		var esc string
		switch c {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\t':
			esc = `\t`
		case '<', '>', '&':
			esc = `\u00` + string(hex[c>>4]) + string(hex[c&15])
		default:
			continue
		}
		out = append(out, s[start:i]...)
		out = append(out, esc...)
		start = i + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
