package resolved

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzUnmarshal holds the decoder's promises on any input: it never
// panics, an error is ErrInvalid or ErrUnsupportedFormat, and whatever it
// accepts is valid and survives a round trip unchanged.
func FuzzUnmarshal(f *testing.F) {
	s := sample()
	good, err := (&State{Version: 4, Services: []*Service{&s}}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":1,"version":0}`))
	f.Add([]byte(`{"format":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Unmarshal(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("Unmarshal error %v is neither ErrInvalid nor ErrUnsupportedFormat", err)
			}
			return
		}
		if err := st.Validate(); err != nil {
			t.Fatalf("accepted an invalid state: %v", err)
		}
		again, err := st.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a decoded state: %v", err)
		}
		st2, err := Unmarshal(again)
		if err != nil || !reflect.DeepEqual(normal(st), normal(st2)) {
			t.Fatalf("round trip changed the state: %v\n%+v\n%+v", err, st, st2)
		}
	})
}

// normal drops the difference between nil and empty slices, which JSON
// does not keep.
func normal(st State) string {
	b, _ := st.Marshal()
	return string(b)
}
