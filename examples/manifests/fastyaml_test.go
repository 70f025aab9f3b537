package manifests

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzFastYAML holds fastDecode to YAMLToJSON: whenever the fast path
// takes a document, YAMLToJSON accepts it too and writes the same bytes.
// The seeds are the documents of testdata/manifests and testdata/fuzz.
func FuzzFastYAML(f *testing.F) {
	files, err := filepath.Glob("testdata/manifests/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		docs, _ := splitDocuments(b)
		for _, doc := range docs {
			f.Add(doc)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, ok := fastDecode(doc)
		if !ok {
			return
		}
		want, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("fast path took %q as %s; YAMLToJSON refuses it: %v", doc, d.js, err)
		}
		if !bytes.Equal(d.js, want) {
			t.Fatalf("fastDecode(%q) = %s; YAMLToJSON = %s", doc, d.js, want)
		}
		if d.headerOK {
			checkHeaderOf(t, doc, d.header, want)
		}
	})
}

// checkHeaderOf fails unless json.Unmarshal reads the same apiVersion,
// kind, name and namespace from js as the fast path read from doc.
func checkHeaderOf(t *testing.T, doc []byte, got rawHeader, js []byte) {
	t.Helper()
	var want rawHeader
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatalf("fast path read the header of %q; json.Unmarshal(%s) fails: %v", doc, js, err)
	}
	if got.APIVersion != want.APIVersion || got.Kind != want.Kind || got.Metadata.Name != want.Metadata.Name ||
		got.Metadata.Namespace != want.Metadata.Namespace {
		t.Fatalf("header of %q = %+v; json.Unmarshal reads %+v", doc, got, want)
	}
}

// TestFastYAML pins what the fast path takes and what it makes of it. want
// is also checked against YAMLToJSON, so a row cannot pin a wrong answer;
// an empty want means the fast path must give the document up.
func TestFastYAML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// The documents the churn writes, and the tutorials' shapes.
		{"churn pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: bench, labels: {app: s1}}\nspec: {nodeName: n1, containers: [{name: c, image: i}]}\nstatus: {phase: Running, podIP: 10.101.0.1, conditions: [{type: Ready, status: \"True\"}]}\n",
			`{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"app":"s1"},"name":"p1","namespace":"bench"},"spec":{"containers":[{"image":"i","name":"c"}],"nodeName":"n1"},"status":{"conditions":[{"status":"True","type":"Ready"}],"phase":"Running","podIP":"10.101.0.1"}}`},
		{"block nesting", "# head\na:\n  b:\n    - x\n    -   c: 1\n        d: [2, 'q', \"r\"]\n    -\n      e: f\n  g:\n  - 3\n  h: {}\nz: []\n",
			`{"a":{"b":["x",{"c":1,"d":[2,"q","r"]},{"e":"f"}],"g":[3],"h":{}},"z":[]}`},
		{"comments and blank lines", "a: 1 # one\n\n   # stray\nb: # nested\n  c: d#e\n",
			`{"a":1,"b":{"c":"d#e"}}`},
		{"empty values are null", "a:\nb: ~\nc: [x]\nd:\n- \n- z\n", `{"a":null,"b":null,"c":["x"],"d":[null,"z"]}`},
		{"empty document", "# nothing\n\n", `null`},
		{"indented root", "  a: 1\n  b: 2\n", `{"a":1,"b":2}`},
		{"plain with spaces and colons", "image: nginx:1.25\nmsg: hello  world \nip6: fd00::1\n", `{"image":"nginx:1.25","ip6":"fd00::1","msg":"hello  world"}`},
		{"quoted scalars", "a: 'it''s'\nb: \"t\\\"ab\\\\\\n\\t/\"\n\"c d\": 'yes'\n'e': \"0755\"\n", `{"a":"it's","b":"t\"ab\\\n\t/","c d":"yes","e":"0755"}`},
		{"html escaped", "a: x<b>&c\n", `{"a":"x\u003cb\u003e\u0026c"}`},
		{"keys sort bytewise", "b: 1\nB: 2\na: 3\n_: 4\n", `{"B":2,"_":4,"a":3,"b":1}`},

		// YAML 1.1 booleans (yaml.org/type/bool.html: "y|Y|yes|Yes|YES|n|N|
		// no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF").
		{"bool words", "a: [y, Y, yes, Yes, YES, true, True, TRUE, on, On, ON]\nb: [n, N, no, No, NO, false, False, FALSE, off, Off, OFF]\nc: [yES, tRUE, oN, nope, offset]\n",
			`{"a":[true,true,true,true,true,true,true,true,true,true,true],"b":[false,false,false,false,false,false,false,false,false,false,false],"c":["yES","tRUE","oN","nope","offset"]}`},
		// yaml.org/type/null.html: "~|null|Null|NULL| (empty)".
		{"null words", "a: [~, null, Null, NULL, nULL, ~x]\n", `{"a":[null,null,null,null,"nULL","~x"]}`},
		// yaml.org/type/int.html: decimal "[-+]?(0|[1-9][0-9_]*)"; goyaml.v2
		// keeps an int in an int64 (or a uint64, then a float).
		{"decimal ints", "a: [0, 7, -12, 123456789012345678]\n", `{"a":[0,7,-12,123456789012345678]}`},
		{"dotted digits are strings", "a: [10.0.0.1, 1.2.3, 1..2]\n", `{"a":["10.0.0.1","1.2.3","1..2"]}`},

		// Given up: the slow path decides.
		{"octal", "a: 0755\n", ""},        // int "0[0-7_]+": 493
		{"hex", "a: 0x1F\n", ""},          // int "0x[0-9a-fA-F_]+": 31
		{"binary", "a: 0b101\n", ""},      // int "0b[0-1_]+": 5
		{"underscores", "a: 1_000\n", ""}, // int "[1-9][0-9_]*": 1000
		{"exponent", "a: 1e3\n", ""},      // float "[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?"
		{"leading dot", "a: .5\n", ""},
		{"float", "a: 1.5\n", ""},
		{"inf", "a: .inf\n", ""}, // float ".inf": JSON has no infinity
		{"plus", "a: +1\n", ""},
		{"negative zero", "a: -0\n", ""},
		{"int too long", "a: 1234567890123456789\n", ""},
		{"timestamp", "a: 2001-12-14\n", ""},
		{"digits then letters", "a: 8080-tcp\n", ""},
		{"bool key", "yes: 1\n", ""},
		{"int key", "80: http\n", ""},
		{"null key", "~: 1\n", ""},
		{"duplicate key", "a: 1\na: 2\n", ""},
		{"duplicate flow key", "a: {b: 1, b: 1}\n", ""},
		{"merge key", "a: &x {b: 1}\nc:\n  <<: *x\n", ""},
		{"anchor", "a: &x 1\n", ""},
		{"alias", "a: *x\n", ""},
		{"tag", "a: !!str 1\n", ""},
		{"literal block", "a: |\n  x\n", ""},
		{"folded block", "a: >\n  x\n", ""},
		{"multi-line plain", "a: b\n  c\n", ""},
		{"multi-line flow", "a: [1,\n  2]\n", ""},
		{"multi-line quoted", "a: \"b\n  c\"\n", ""},
		{"complex key", "? a\n: b\n", ""},
		{"flow key", "{a: 1}: b\n", ""},
		{"yaml escape", "a: \"\\x41\"\n", ""},
		{"yaml 1.2 escape", "a: \"\\/\"\n", ""}, // YAML 1.1 has no "\/"
		{"trailing comma", "a: [1, ]\n", ""},
		{"single pair in sequence", "a: [b: c]\n", ""},
		{"tab", "a:\t1\n", ""},
		{"carriage return", "a: 1\r\n", ""},
		{"non-ascii", "a: café\n", ""},
		{"top-level sequence", "- a\n", ""},
		{"top-level scalar", "a\n", ""},
		{"top-level flow", "{a: 1}\n", ""},
		{"nested compact sequence", "a:\n- - b\n", ""},
		{"space before colon", "a : 1\n", ""},
		{"key without space", "a:1\n", ""},
		{"document marker", "a: 1\n...\n", ""},
		{"directive", "%YAML 1.1\na: 1\n", ""},

		// Invalid YAML is always given up, so its errors are YAMLToJSON's.
		{"bad indentation", "a:\n    b: 1\n  c: 2\n", ""},
		{"value after value", "a: b: c\n", ""},
		{"sequence after value", "a: 1\n- b\n", ""},
		{"over-indented key", "a: 1\n  b: 2\n", ""},
		{"unclosed flow", "a: {b: 1\n", ""},
		{"text after flow", "a: [1] x\n", ""},
		{"text after quote", "a: 'b' c\n", ""},
		{"comment without space", "a: 'b'#c\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := fastDecode([]byte(tt.in))
			got := d.js
			if tt.want == "" {
				if ok {
					t.Fatalf("fastDecode(%q) = %s; want it given up", tt.in, got)
				}
				return
			}
			if slow, err := yaml.YAMLToJSON([]byte(tt.in)); err != nil || string(slow) != tt.want {
				t.Fatalf("the row is wrong: YAMLToJSON(%q) = %s, %v; want %s", tt.in, slow, err, tt.want)
			}
			if !ok || string(got) != tt.want {
				t.Fatalf("fastDecode(%q) = %s, %v; want %s", tt.in, got, ok, tt.want)
			}
		})
	}
}

// TestFastYAMLManifests checks that the fast path takes every document of
// testdata/manifests: they are the shapes users write.
func TestFastYAMLManifests(t *testing.T) {
	files, err := filepath.Glob("testdata/manifests/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		docs, _ := splitDocuments(b)
		for i, doc := range docs {
			if _, ok := fastDecode(doc); !ok {
				t.Errorf("%s document %d: given up:\n%s", name, i, doc)
			}
		}
	}
}

// TestFastHeader pins when the fast path reads a document's header from
// its tree: only when json.Unmarshal into a rawHeader would surely read
// the same and not fail.
func TestFastHeader(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns, labels: {a: b, c: ~}, annotations: ~, deletionTimestamp: x}\nspec: {}\n", true},
		{"null fields", "apiVersion: ~\nkind: Pod\nmetadata:\n  name:\n", true},
		{"no metadata", "kind: Service\nother: [1]\n", true},
		{"kind folded", "apiVersion: v1\nKind: Pod\n", false},               // encoding/json matches "Kind" to the field kind
		{"name folded", "kind: Pod\nmetadata: {NAME: p}\n", false},          // as above
		{"int kind", "kind: 5\n", false},                                    // json: cannot unmarshal number into string
		{"bool namespace", "kind: Pod\nmetadata: {namespace: n}\n", false},  // YAML 1.1: n is false
		{"labels not a map", "kind: Pod\nmetadata: {labels: [a]}\n", false}, // json: cannot unmarshal array into map
		{"label not a string", "kind: Pod\nmetadata: {labels: {a: 1}}\n", false},
		{"metadata not a map", "kind: Pod\nmetadata: x\n", false},
		{"timestamp not a string", "kind: Pod\nmetadata: {deletionTimestamp: true}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := fastDecode([]byte(tt.in))
			if !ok {
				t.Fatalf("fastDecode(%q) gave the document up", tt.in)
			}
			if d.headerOK != tt.ok {
				t.Fatalf("fastDecode(%q).headerOK = %v; want %v", tt.in, d.headerOK, tt.ok)
			}
			if d.headerOK {
				checkHeaderOf(t, []byte(tt.in), d.header, d.js)
			}
		})
	}
}
