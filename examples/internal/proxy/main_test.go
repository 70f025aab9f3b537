package proxy

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: every one Run
// starts has ended when it returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
