package dataplane

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// scratchNS creates a network namespace for one test with `ip netns add`
// and removes it when the test ends. It fails when CI is set and the
// namespace cannot be made; otherwise it skips.
func scratchNS(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "svcnet-dp-" + hex.EncodeToString(b)
	out, err := exec.Command("ip", "netns", "add", name).CombinedOutput()
	if err != nil {
		msg := "cannot create a network namespace (need root and iproute2): " + err.Error() + ": " + string(out)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return "/run/netns/" + name
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
