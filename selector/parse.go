package selector

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// token is a lexical token of the selector grammar.
type token uint8

const (
	tokEOS token = iota
	tokIdent
	tokOpenPar
	tokClosePar
	tokComma
	tokNot
	tokEquals
	tokDoubleEquals
	tokNotEquals
	tokGt
	tokLt
	tokIn
	tokNotIn
)

func isWhitespace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isSpecial(c byte) bool {
	switch c {
	case '=', '!', '(', ')', ',', '>', '<':
		return true
	}
	return false
}

// specialToken maps an operator spelling to its token.
func specialToken(s string) (token, bool) {
	switch s {
	case "=":
		return tokEquals, true
	case "==":
		return tokDoubleEquals, true
	case "!=":
		return tokNotEquals, true
	case "!":
		return tokNot, true
	case "(":
		return tokOpenPar, true
	case ")":
		return tokClosePar, true
	case ",":
		return tokComma, true
	case ">":
		return tokGt, true
	case "<":
		return tokLt, true
	}
	return 0, false
}

// lexer splits a selector into tokens with Kubernetes' rules, including its
// corners: a NUL byte reads as the end of input where a token starts (and is
// skipped where it ends one), and operators are taken longest first without
// backtracking, so ">=" is '>' followed by '='.
type lexer struct {
	s   string
	pos int
}

// read returns the next byte, or 0 at the end of input.
func (l *lexer) read() byte {
	if l.pos < len(l.s) {
		c := l.s[l.pos]
		l.pos++
		return c
	}
	return 0
}

// next returns the next token, its text and its byte offset.
func (l *lexer) next() (token, string, int) {
	c := l.read()
	for isWhitespace(c) {
		c = l.read()
	}
	if c == 0 {
		return tokEOS, "", l.pos
	}
	start := l.pos - 1
	l.pos--
	if isSpecial(c) {
		tok, n := tokEOS, 0
		for {
			c := l.read()
			if c == 0 {
				break
			}
			if !isSpecial(c) {
				l.pos--
				break
			}
			if t, ok := specialToken(l.s[start:l.pos]); ok {
				tok, n = t, l.pos-start
			} else if n > 0 {
				l.pos--
				break
			}
		}
		return tok, l.s[start : start+n], start
	}
	end := start
	for {
		c := l.read()
		if c == 0 {
			break
		}
		if isSpecial(c) || isWhitespace(c) {
			l.pos--
			break
		}
		end = l.pos
	}
	lit := l.s[start:end]
	switch lit {
	case "in":
		return tokIn, lit, start
	case "notin":
		return tokNotIn, lit, start
	}
	return tokIdent, lit, start
}

// parser is a recursive-descent parser with one token of lookahead.
type parser struct {
	lx   lexer
	tok  token // lookahead token
	lit  string
	off  int
	reqs []requirement
	vals []string // backing store shared by all requirements' values
}

func (p *parser) advance() {
	if p.tok == tokEOS {
		return // Kubernetes stops reading at the first end of string, even an early NUL
	}
	p.tok, p.lit, p.off = p.lx.next()
}

// peek returns the lookahead token in value context, where the keywords 'in'
// and 'notin' are plain identifiers.
func (p *parser) peek() token {
	if p.tok == tokIn || p.tok == tokNotIn {
		return tokIdent
	}
	return p.tok
}

// Parse parses a selector in the Kubernetes string syntax:
//
//	selector    = [ requirement { "," requirement } ]
//	requirement = [ "!" ] KEY
//	            | KEY ( "=" | "==" | "!=" ) VALUE
//	            | KEY ( "in" | "notin" ) "(" VALUE { "," VALUE } ")"
//	            | KEY ( ">" | "<" ) INTEGER
//
// Whitespace (space, tab, CR, LF) may separate tokens. 'in' and 'notin' are
// keywords only in operator position. In a value list, empty values are
// allowed ("()" is the set {""}) and duplicates are removed. Keys and values
// are validated as Kubernetes does. Parse("") returns [Everything].
//
// Errors are of type *[ParseError] and wrap [ErrSyntax], [ErrInvalidKey],
// [ErrInvalidValue] or [ErrValueCount].
func Parse(s string) (Selector, error) {
	p := parser{lx: lexer{s: s}}
	// Upper bounds: every requirement and every value but one per list
	// needs a comma, so two allocations hold the whole result.
	commas := strings.Count(s, ",")
	p.reqs = make([]requirement, 0, commas+1)
	p.vals = make([]string, 0, commas+2)
	p.tok, p.lit, p.off = p.lx.next()
	if err := p.parse(); err != nil {
		return Selector{}, err
	}
	if len(p.reqs) == 0 {
		return Everything(), nil
	}
	sortByKey(p.reqs)
	return Selector{reqs: p.reqs, kind: kindReqs}, nil
}

// sortByKey orders requirements by key exactly as Kubernetes' sort.Sort(ByKey)
// does, so that String agrees with it even on repeated keys: slices.SortFunc
// runs the same pattern-defeating quicksort as sort.Sort (insertion sort up
// to 12 elements, which keeps requirements on one key in written order).
func sortByKey(reqs []requirement) {
	slices.SortFunc(reqs, func(a, b requirement) int { return cmp.Compare(a.key, b.key) })
}

// MustParse is like [Parse] but panics on error. It is intended for use in
// tests and examples with hard-coded strings.
func MustParse(s string) Selector {
	sel, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

func (p *parser) errorf(off int, sentinel error, msg string) error {
	return &ParseError{Input: p.lx.s, Offset: off, Msg: msg, err: sentinel}
}

// found describes the lookahead token for an error message.
func (p *parser) found() string {
	if p.tok == tokEOS {
		return "found end of string"
	}
	return "found " + strconv.Quote(p.lit)
}

func (p *parser) parse() error {
	if p.peek() == tokEOS {
		return nil
	}
	for {
		if t := p.peek(); t != tokIdent && t != tokNot {
			return p.errorf(p.off, ErrSyntax, p.found()+", expected '!' or a key")
		}
		if err := p.requirement(); err != nil {
			return err
		}
		switch p.peek() {
		case tokEOS:
			return nil
		case tokComma:
			p.advance()
		default:
			return p.errorf(p.off, ErrSyntax, p.found()+", expected ',' or end of string")
		}
	}
}

func (p *parser) requirement() error {
	var o op
	if p.tok == tokNot {
		o = opDoesNotExist
		p.advance()
	}
	if p.peek() != tokIdent {
		return p.errorf(p.off, ErrSyntax, p.found()+", expected a key")
	}
	key, keyOff := p.lit, p.off
	if msg := checkKey(key); msg != "" {
		return p.errorf(keyOff, ErrInvalidKey, msg)
	}
	p.advance()
	if o == opDoesNotExist {
		p.reqs = append(p.reqs, requirement{key: key, op: o})
		return nil
	}
	if t := p.peek(); t == tokEOS || t == tokComma {
		p.reqs = append(p.reqs, requirement{key: key, op: opExists})
		return nil
	}
	switch p.tok { // operator context: keywords are operators here
	case tokIn:
		o = opIn
	case tokNotIn:
		o = opNotIn
	case tokEquals:
		o = opEquals
	case tokDoubleEquals:
		o = opDoubleEquals
	case tokNotEquals:
		o = opNotEquals
	case tokGt:
		o = opGt
	case tokLt:
		o = opLt
	default:
		return p.errorf(p.off, ErrSyntax, p.found()+" after key "+strconv.Quote(key)+", expected one of '=', '==', '!=', 'in', 'notin', '>', '<', ',' or end of string")
	}
	p.advance()
	start := len(p.vals)
	var err error
	if o == opIn || o == opNotIn {
		err = p.valueList(key)
	} else {
		err = p.exactValue(key, o)
	}
	if err != nil {
		return err
	}
	vals := p.vals[start:]
	slices.Sort(vals)
	vals = slices.Compact(vals)
	p.vals = p.vals[:start+len(vals)]
	r := requirement{key: key, op: o, values: p.vals[start:len(p.vals):len(p.vals)]}
	if o == opGt || o == opLt {
		r.num, _ = parseInt64(r.values[0]) // checked by exactValue
	}
	p.reqs = append(p.reqs, r)
	return nil
}

// value appends the value token of key, checked where it stands so that an
// error points at it.
func (p *parser) value(key string) error {
	if msg := checkValue(key, p.lit); msg != "" {
		return p.errorf(p.off, ErrInvalidValue, msg)
	}
	p.vals = append(p.vals, p.lit)
	p.advance()
	return nil
}

// exactValue reads the value of key after operator o ('=', '==', '!=', '>'
// or '<'); a missing one is the empty value, which '>' and '<' reject.
func (p *parser) exactValue(key string, o op) error {
	v, off := "", p.off
	switch p.peek() {
	case tokEOS, tokComma:
	case tokIdent:
		v = p.lit
		if msg := checkValue(key, v); msg != "" {
			return p.errorf(off, ErrInvalidValue, msg)
		}
		p.advance()
	default:
		return p.errorf(p.off, ErrSyntax, p.found()+", expected a value")
	}
	if _, ok := parseInt64(v); !ok && (o == opGt || o == opLt) {
		return p.errorf(off, ErrInvalidValue,
			"value "+strconv.Quote(v)+" for key "+strconv.Quote(key)+": operator '"+o.symbol()+"' needs an integer")
	}
	p.vals = append(p.vals, v)
	return nil
}

// valueList reads "(" values ")" with Kubernetes 1.37's rules for empty
// values: "()" and "(,)" are {""}, a leading or trailing comma adds "",
// and so does every ",," ("(a,,)", "(,,)" and "(a, ,)" are {a, ""}, {""}
// and {a, ""}).
func (p *parser) valueList(key string) error {
	if p.peek() != tokOpenPar {
		return p.errorf(p.off, ErrSyntax, p.found()+", expected '('")
	}
	p.advance()
	switch p.peek() {
	case tokClosePar:
		p.vals = append(p.vals, "")
		p.advance()
		return nil
	case tokIdent, tokComma:
	default:
		return p.errorf(p.off, ErrSyntax, p.found()+", expected ',', ')' or a value")
	}
	start := len(p.vals)
	for {
		switch p.peek() {
		case tokIdent:
			if err := p.value(key); err != nil {
				return err
			}
			switch p.peek() {
			case tokComma:
				continue
			case tokClosePar:
				p.advance()
				return nil
			}
			return p.errorf(p.off, ErrSyntax, p.found()+", expected ',' or ')'")
		case tokComma:
			p.advance()
			if len(p.vals) == start {
				p.vals = append(p.vals, "")
			}
			switch p.peek() {
			case tokClosePar:
				p.vals = append(p.vals, "")
				p.advance()
				return nil
			case tokComma:
				// ",," adds "" and leaves the second comma to the
				// next round, so "(a,,)" is {a, ""} (apimachinery
				// v0.37.2; v0.33.0 consumed it and rejected "(a,,)").
				p.vals = append(p.vals, "")
			}
		default:
			return p.errorf(p.off, ErrSyntax, p.found()+", expected ',' or a value")
		}
	}
}
