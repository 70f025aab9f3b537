package dataplane

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/svcnet/svcnet/internal/netnstest"
)

// scratchNS creates a network namespace for one test through
// internal/netnstest (which fails rather than skips under CI) and returns
// its path; the test's cleanup removes it.
func scratchNS(tb testing.TB) string {
	tb.Helper()
	netnstest.Require(tb)
	return netnstest.NewNS(tb, "dp").Path()
}

// nftIn runs nft inside the namespace at path.
func nftIn(tb testing.TB, path string, args ...string) (string, error) {
	tb.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal("nft not installed")
		}
		tb.Skip("nft not installed")
	}
	out, err := exec.Command("nsenter", append([]string{"--net=" + path, "nft"}, args...)...).CombinedOutput()
	return string(out), err
}

// nftStdin runs nft in the namespace at path with input on stdin.
func nftStdin(tb testing.TB, path, input string, args ...string) (string, error) {
	tb.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=" + path, "nft"}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
