package etcd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svcnet/svcnet/etcd/internal/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// obj is the published object of these tests; its encoding "1|name|gen" carries a
// format version, and a reader refuses any other version.
type obj struct {
	Name string
	Gen  int
}

var objCodec = Codec[obj]{
	Name:    func(o obj) string { return o.Name },
	Marshal: func(o obj) ([]byte, error) { return fmt.Appendf(nil, "1|%s|%d", o.Name, o.Gen), nil },
	Unmarshal: func(b []byte) (obj, error) {
		parts := strings.Split(string(b), "|")
		if parts[0] != "1" {
			return obj{}, fmt.Errorf("%w: %s", ErrUnknownVersion, parts[0])
		}
		if len(parts) != 3 {
			return obj{}, fmt.Errorf("%w: %q", ErrCorrupt, b)
		}
		gen, err := strconv.Atoi(parts[2])
		return obj{parts[1], gen}, err
	},
}

// model applies Updates to a map and checks the Follower's promises on the way:
// revisions grow, no change is delivered twice, nothing is removed that was not
// there.
type model struct {
	t       *testing.T
	mu      sync.Mutex // protects the rest
	state   map[string]obj
	rev     int64
	updates []Update[obj]
}

func newModel(t *testing.T) *model { return &model{t: t, state: map[string]obj{}} }

func (m *model) apply(u Update[obj]) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u.Revision <= m.rev {
		m.t.Errorf("update at revision %d after %d", u.Revision, m.rev)
	}
	for _, c := range u.Changed {
		if old, ok := m.state[c.Name]; ok && old == c.Value {
			m.t.Errorf("revision %d: %s delivered again unchanged: %v", u.Revision, c.Name, c.Value)
		}
		m.state[c.Name] = c.Value
	}
	for _, name := range u.Removed {
		if _, ok := m.state[name]; !ok {
			m.t.Errorf("revision %d: %s removed but not held", u.Revision, name)
		}
		delete(m.state, name)
	}
	m.rev = u.Revision
	m.updates = append(m.updates, u)
	return nil
}

// run runs f into m until the returned stop is called.
func (m *model) run(f *Follower[obj]) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, m.apply) }()
	return func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			m.t.Errorf("Run = %v; want context.Canceled", err)
		}
	}
}

// waitRev waits until m has applied revision rev.
func (m *model) waitRev(rev int64) {
	m.t.Helper()
	for i := 0; ; i++ {
		m.mu.Lock()
		got := m.rev
		m.mu.Unlock()
		if got >= rev {
			return
		}
		if i == 3000 {
			m.t.Fatalf("follower at revision %d; want %d", got, rev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (m *model) snapshot() (map[string]obj, []Update[obj]) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.state), m.updates
}

// source reads what etcd holds under prefix, decoded.
func source(t *testing.T, cli *clientv3.Client, prefix string) (map[string]obj, int64) {
	t.Helper()
	resp, err := cli.Get(t.Context(), prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]obj{}
	for _, kv := range resp.Kvs {
		o, err := objCodec.Unmarshal(kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(string(kv.Key), prefix)] = o
	}
	return out, resp.Header.Revision
}

func equalState(t *testing.T, got, want map[string]obj) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("follower holds %d objects, source %d; differ: got %v want %v", len(got), len(want), got, want)
	}
}

// churn makes n mixed changes: puts of new objects, changes, deletes.
func churn(t *testing.T, p *Publisher[obj], n, gen int) {
	t.Helper()
	for i := range n {
		var err error
		switch name := fmt.Sprintf("svc-%03d", i%40); i % 5 {
		case 3:
			_, err = p.Delete(t.Context(), name)
		default:
			_, err = p.Put(t.Context(), obj{name, gen*1000 + i})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestFollowerInOrder: a running Follower delivers every change in revision order,
// none twice, and ends equal to the source.
func TestFollowerInOrder(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	p := NewPublisher(c.TestClient(t), "/test/svc/", objCodec, Retry{})
	churn(t, p, 50, 0)
	f := NewFollower(c.TestClient(t), "/test/svc/", objCodec)
	m := newModel(t)
	stop := m.run(f)
	defer stop()
	churn(t, p, 300, 1)
	if _, _, err := p.Sync(t.Context(), []obj{{"svc-001", 7}, {"svc-002", 7}, {"new", 1}}); err != nil {
		t.Fatal(err)
	}
	want, rev := source(t, c.TestClient(t), "/test/svc/")
	m.waitRev(rev)
	got, updates := m.snapshot()
	equalState(t, got, want)
	equalState(t, f.State(), want)
	if !updates[0].Relisted {
		t.Errorf("first update not Relisted")
	}
}

// TestFollowerResumes: a Follower run again after a stop (a node that lost etcd for
// a while) resumes from its last revision: it delivers only the changes made in
// between, without a relist.
func TestFollowerResumes(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	p := NewPublisher(c.TestClient(t), "/test/svc/", objCodec, Retry{})
	churn(t, p, 100, 0)
	f := NewFollower(c.TestClient(t), "/test/svc/", objCodec)
	m := newModel(t)
	stop := m.run(f)
	_, rev := source(t, c.TestClient(t), "/test/svc/")
	m.waitRev(rev)
	stop()
	_, before := m.snapshot()
	if _, err := p.Put(t.Context(), obj{"svc-005", 99}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Delete(t.Context(), "svc-006"); err != nil {
		t.Fatal(err)
	}
	stop = m.run(f)
	defer stop()
	want, rev := source(t, c.TestClient(t), "/test/svc/")
	m.waitRev(rev)
	got, updates := m.snapshot()
	equalState(t, got, want)
	var changed, removed []string
	for _, u := range updates[len(before):] {
		if u.Relisted {
			t.Errorf("revision %d: relisted; want a resumed watch", u.Revision)
		}
		for _, c := range u.Changed {
			changed = append(changed, c.Name)
		}
		removed = append(removed, u.Removed...)
	}
	if fmt.Sprint(changed, removed) != "[svc-005] [svc-006]" {
		t.Errorf("after resume: changed %v, removed %v; want [svc-005] [svc-006]", changed, removed)
	}
}

// TestFollowerRelistsAfterCompaction: when etcd compacted the revision a Follower
// would resume from, it lists again and delivers exactly the difference: every
// object changed or added in between once, every removed one once, nothing else.
func TestFollowerRelistsAfterCompaction(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	cli := c.TestClient(t)
	p := NewPublisher(cli, "/test/svc/", objCodec, Retry{})
	churn(t, p, 100, 0)
	f := NewFollower(c.TestClient(t), "/test/svc/", objCodec)
	m := newModel(t)
	stop := m.run(f)
	_, rev := source(t, cli, "/test/svc/")
	m.waitRev(rev)
	stop()
	old, before := m.snapshot()
	churn(t, p, 120, 1)
	if _, err := p.Put(t.Context(), obj{"svc-010", old["svc-010"].Gen}); err != nil { // rewritten unchanged
		t.Fatal(err)
	}
	want, rev := source(t, cli, "/test/svc/")
	if _, err := cli.Compact(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	stop = m.run(f)
	defer stop()
	m.waitRev(rev)
	got, updates := m.snapshot()
	equalState(t, got, want)
	after := updates[len(before):]
	if len(after) != 1 || !after[0].Relisted {
		t.Fatalf("after compaction: %d updates (first relisted: %v); want 1 relisted", len(after), len(after) > 0 && after[0].Relisted)
	}
	wantChanged, wantRemoved := 0, 0
	for name, o := range want {
		if old[name] != o {
			wantChanged++
		}
	}
	for name := range old {
		if _, ok := want[name]; !ok {
			wantRemoved++
		}
	}
	if len(after[0].Changed) != wantChanged || len(after[0].Removed) != wantRemoved {
		t.Errorf("relist delivered %d changed, %d removed; want %d, %d", len(after[0].Changed), len(after[0].Removed), wantChanged, wantRemoved)
	}
}

// TestFollowerRefusesNewerFormat: an object written in a format this reader does
// not know is reported in Update.Invalid with ErrUnknownVersion, keeps its last
// good value, and does not stop the rest from being delivered.
func TestFollowerRefusesNewerFormat(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	cli := c.TestClient(t)
	p := NewPublisher(cli, "/test/svc/", objCodec, Retry{})
	rev, err := p.Put(t.Context(), obj{"a", 1})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFollower(c.TestClient(t), "/test/svc/", objCodec)
	m := newModel(t)
	stop := m.run(f)
	defer stop()
	m.waitRev(rev)
	if _, err := cli.Put(t.Context(), "/test/svc/a", "2|a|2|zone=x"); err != nil {
		t.Fatal(err)
	}
	rev, err = p.Put(t.Context(), obj{"b", 1})
	if err != nil {
		t.Fatal(err)
	}
	m.waitRev(rev)
	got, updates := m.snapshot()
	equalState(t, got, map[string]obj{"a": {"a", 1}, "b": {"b", 1}})
	var invalid []NamedError
	for _, u := range updates {
		invalid = append(invalid, u.Invalid...)
	}
	if len(invalid) != 1 || invalid[0].Name != "a" || !errors.Is(invalid[0].Err, ErrUnknownVersion) {
		t.Errorf("Invalid = %v; want a with ErrUnknownVersion", invalid)
	}
}

// TestFollowerRelistPages: a prefix of more objects than one relist page holds
// is listed whole, at one revision, in one Update.
func TestFollowerRelistPages(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Config{})
	cli := c.TestClient(t)
	p := NewPublisher(cli, "/test/pages/", objCodec, Retry{})
	var all []obj
	for i := range 2*relistPage + 1 {
		all = append(all, obj{fmt.Sprintf("o-%05d", i), i})
	}
	if _, _, err := p.Sync(t.Context(), all); err != nil {
		t.Fatal(err)
	}
	want, rev := source(t, cli, "/test/pages/")
	f := NewFollower(cli, "/test/pages/", objCodec)
	m := newModel(t)
	stop := m.run(f)
	defer stop()
	m.waitRev(rev)
	got, updates := m.snapshot()
	equalState(t, got, want)
	if len(updates) != 1 || len(updates[0].Changed) != len(all) || updates[0].Revision != rev {
		t.Errorf("%d updates, the first with %d objects at revision %d; want 1 with %d at %d",
			len(updates), len(updates[0].Changed), updates[0].Revision, len(all), rev)
	}
}
