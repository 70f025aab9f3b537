package dataplane

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/nftables"
)

// Render returns the ruleset for svcs in nft syntax, sorted so that equal
// inputs give equal text. It is what New's Dataplane sends to the kernel and
// what the Fake keeps: refused service ports are left out of it and named
// in a *SyncError returned with the text. An error about opts returns no
// text.
func Render(opts Options, svcs []ServicePort) (string, error) {
	rs, err := build(&opts, svcs)
	if rs == nil {
		return "", err
	}
	return rs.String(), err
}

var hookNames = map[nftables.ChainHook]string{
	*nftables.ChainHookPrerouting:  "prerouting",
	*nftables.ChainHookInput:       "input",
	*nftables.ChainHookForward:     "forward",
	*nftables.ChainHookOutput:      "output",
	*nftables.ChainHookPostrouting: "postrouting",
}

func typeNames(ts []nftables.SetDatatype) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, " . ")
}

// String renders the ruleset as one "table inet" block: sets and maps by
// name, then chains by name, elements sorted by key.
func (rs *ruleset) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "table inet %s {\n", rs.table)
	for _, name := range slices.Sorted(maps.Keys(rs.sets)) {
		s := rs.sets[name]
		kind := "set"
		if len(s.dataTypes) > 0 {
			kind = "map"
		}
		fmt.Fprintf(&sb, "\t%s %s {\n\t\ttype %s", kind, name, typeNames(s.keyTypes))
		if kind == "map" {
			fmt.Fprintf(&sb, " : %s", typeNames(s.dataTypes))
		}
		sb.WriteString("\n")
		var flags []string
		if s.interval {
			flags = append(flags, "interval")
		}
		if s.dynamic {
			flags = append(flags, "dynamic", "timeout")
		}
		if len(flags) > 0 {
			fmt.Fprintf(&sb, "\t\tflags %s\n", strings.Join(flags, ","))
		}
		if s.timeout > 0 {
			fmt.Fprintf(&sb, "\t\ttimeout %ds\n", int(s.timeout.Seconds()))
		}
		if s.size > 0 {
			fmt.Fprintf(&sb, "\t\tsize %d\n", s.size)
		}
		if len(s.elems) > 0 {
			sb.WriteString("\t\telements = {")
			lines := make([]string, len(s.elems))
			for i, e := range s.elems {
				lines[i] = s.keyText(e)
				if d := s.dataText(e); d != "" {
					lines[i] += " : " + d
				}
			}
			// The keys of a set have the same words, so where one key
			// ends another goes on with no space: ordering the lines
			// orders the keys.
			slices.Sort(lines)
			sb.WriteString("\n\t\t\t" + strings.Join(lines, ",\n\t\t\t"))
			sb.WriteString("\n\t\t}\n")
		}
		sb.WriteString("\t}\n")
	}
	for _, name := range slices.Sorted(maps.Keys(rs.chains)) {
		c := rs.chains[name]
		fmt.Fprintf(&sb, "\tchain %s {\n", name)
		if h := c.hook; h != nil {
			fmt.Fprintf(&sb, "\t\ttype %s hook %s priority %d; policy accept;\n", h.typ, hookNames[h.num], h.prio)
		}
		for _, r := range c.rules {
			fmt.Fprintf(&sb, "\t\t%s\n", r.text)
		}
		sb.WriteString("\t}\n")
	}
	sb.WriteString("}\n")
	return sb.String()
}

// Validate reports what Sync would refuse of svcs under opts, without a
// kernel: an error about opts, or a *SyncError naming each service port
// that is invalid or claims a frontend (address, protocol and port, or
// NodePort) another holds.
func Validate(opts Options, svcs []ServicePort) error {
	_, err := build(&opts, svcs)
	return err
}
