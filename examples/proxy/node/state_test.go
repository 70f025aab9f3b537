package node

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st, err := ReadState(path)
	if err != nil || len(st.Services) != 0 {
		t.Fatalf("ReadState(missing) = %+v, %v; want empty", st, err)
	}
	want := &State{
		ServiceIPs: map[string][]byte{"10.96.0.0/16": {1, 2, 3}},
		NodePorts:  map[string][]byte{"30000-32767": {4}},
		Services:   map[string]Assignment{"default/a": {ClusterIPs: []string{"10.96.0.1"}, NodePorts: map[string]uint16{"TCP/80": 30080}}},
	}
	if err := WriteState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadState = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"{", `{"version": 99}`} {
		os.WriteFile(path, []byte(bad), 0o644)
		if _, err := ReadState(path); !errors.Is(err, ErrBadState) {
			t.Errorf("ReadState(%q) error = %v; want ErrBadState", bad, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("state dir holds %d files; want 1 (no temporary leftovers)", len(ents))
	}
}
