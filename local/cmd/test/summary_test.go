package main

import (
	"testing"

	"github.com/sms-platform/phone-numbers/local/pytools"
)

// TestMissingToolIsFoundAnywhereInTheReason counts a skip against the missing tool whether the
// test gives pytools' words alone or after its own (the deploy rehearsal's "moto unavailable: …"
// was listed under "other reasons" when only a prefix counted).
func TestMissingToolIsFoundAnywhereInTheReason(t *testing.T) {
	cases := []struct{ reason, want string }{
		{pytools.Moto.Missing(), pytools.Moto.Command},
		{"deploy rehearsal skipped: moto unavailable: " + pytools.Moto.Missing(), pytools.Moto.Command},
		{pytools.CfnLint.Missing(), pytools.CfnLint.Command},
		{"skipped with -short", ""},
		{"moto_server is missing", ""}, // not pytools' words: no install hint to give
	}
	for _, c := range cases {
		if got := missingTool(c.reason); got != c.want {
			t.Errorf("missingTool(%q) = %q, want %q", c.reason, got, c.want)
		}
	}
}
