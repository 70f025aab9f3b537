package node

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a Run starts must end before Run returns (issue 12):
// goleak fails the package if any test leaves one behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
