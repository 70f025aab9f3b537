package dataplane

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// TestPackSeesEveryField: changing any field of a ServicePort but its key,
// or of one of its endpoints, changes its packed form, so a changed service
// port is never taken for the one its fragment was built from. The fields
// are found by reflection: a field added later fails here until pack
// writes it (MaglevSize and HashSourcePort were once missed this way).
func TestPackSeesEveryField(t *testing.T) {
	base := web(2)
	base.LocalEndpoints = base.Endpoints[:1]
	want := string(base.pack(nil))
	key := map[string]bool{"Namespace": true, "Name": true, "PortName": true, "Protocol": true}
	typ := reflect.TypeFor[ServicePort]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if key[f.Name] {
			continue
		}
		for _, v := range changedValues(t, f.Type, reflect.ValueOf(base).Field(i)) {
			sp := cloneSP(&base)
			reflect.ValueOf(&sp).Elem().Field(i).Set(v)
			if string(sp.pack(nil)) == want {
				t.Errorf("%s = %v packs as the original %v", f.Name, v, reflect.ValueOf(base).Field(i))
			}
		}
	}
	same := cloneSP(&base)
	if string(same.pack(nil)) != want {
		t.Error("a copy packs differently")
	}
	same.ExternalIPs = []netip.Addr{}
	if string(same.pack(nil)) != want {
		t.Error("an empty list packs differently from a nil one, though both program the same rules")
	}
}

// changedValues returns values of type t that differ from was.
func changedValues(t *testing.T, typ reflect.Type, was reflect.Value) []reflect.Value {
	v4 := netip.MustParseAddr("10.0.0.1")
	switch typ {
	case reflect.TypeFor[[]netip.Addr]():
		return valuesOf(
			append(was.Interface().([]netip.Addr), v4),
			[]netip.Addr{netip.AddrFrom16(v4.As16())}, // v4-mapped, not v4
			[]netip.Addr{netip.MustParseAddr("fe80::1%eth0")},
			[]netip.Addr{netip.MustParseAddr("fe80::1%eth1")},
		)
	case reflect.TypeFor[[]netip.Prefix]():
		return valuesOf(
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/9")},
		)
	case reflect.TypeFor[[]Endpoint]():
		eps := was.Interface().([]Endpoint)
		port, weight, addr := cloneEps(eps), cloneEps(eps), cloneEps(eps)
		port[0].Addr = netip.AddrPortFrom(port[0].Addr.Addr(), port[0].Addr.Port()+1)
		weight[0].Weight++
		addr[0].Addr = netip.AddrPortFrom(v4, addr[0].Addr.Port())
		if n := reflect.TypeFor[Endpoint]().NumField(); n != 2 {
			t.Fatalf("Endpoint has %d fields; this test changes 2", n)
		}
		return valuesOf(port, weight, addr, eps[:len(eps)-1])
	case reflect.TypeFor[time.Duration]():
		return valuesOf(was.Interface().(time.Duration) + time.Second)
	}
	switch typ.Kind() {
	case reflect.Bool:
		return []reflect.Value{reflect.ValueOf(!was.Bool()).Convert(typ)}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return []reflect.Value{reflect.ValueOf(was.Uint() + 1).Convert(typ)}
	}
	t.Fatalf("no changed values for a field of type %v: teach this test and pack about it", typ)
	return nil
}

func valuesOf[T any](vs ...T) []reflect.Value {
	out := make([]reflect.Value, len(vs))
	for i, v := range vs {
		out[i] = reflect.ValueOf(v)
	}
	return out
}

func cloneEps(eps []Endpoint) []Endpoint { return append([]Endpoint(nil), eps...) }
