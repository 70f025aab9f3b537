package world

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ServeHTTP starts an HTTP server inside h on port that answers every
// request with h's name and the caller's address ("pod1 10.244.0.100"),
// until ctx is done. It is the pods' workload.
func (h *Host) ServeHTTP(ctx context.Context, port int, name string) error {
	l, err := h.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			fmt.Fprintf(w, "%s %s\n", name, host)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(l)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return nil
}

// Get fetches url from inside h on a fresh connection and returns the
// answering pod's name and the source address it saw.
func (h *Host) Get(ctx context.Context, url string) (pod, src string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", "", err
	}
	// Dial here rather than from the transport: its dialing goroutine may
	// outlive a failed request and would then enter h after World.Close.
	port := req.URL.Port()
	if port == "" {
		port = "80"
	}
	conn, err := h.DialContext(ctx, "tcp", net.JoinHostPort(req.URL.Hostname(), port))
	if err != nil {
		return "", "", err
	}
	var once sync.Once
	take := func() (c net.Conn) {
		once.Do(func() { c = conn })
		return c
	}
	dial := func(context.Context, string, string) (net.Conn, error) {
		if c := take(); c != nil {
			return c, nil
		}
		return nil, errors.New("world: one connection per request")
	}
	c := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if c := take(); c != nil {
		c.Close() // the transport never asked for it
	}
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return "", "", fmt.Errorf("GET %s: unexpected body %q", url, b)
	}
	return f[0], f[1], nil
}
