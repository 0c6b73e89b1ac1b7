package gobuild

import (
	"slices"
	"testing"
)

func TestMakefileBuildFlagsAreSplitLikeAShell(t *testing.T) {
	t.Parallel()
	got, err := MakefileFlags("../..")
	if err != nil {
		t.Fatalf("MakefileFlags: %v", err)
	}
	// The Makefile's own value: its quoted -ldflags must stay one argument.
	want := []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w -buildid="}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{`a  'b c'	"d"e`, []string{"a", "b c", "de"}},
		{`""`, []string{""}},
		{``, nil},
	} {
		if got, err := splitShellWords(tt.in); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitShellWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := splitShellWords(`"open`); err == nil {
		t.Error("an unbalanced quote gave no error")
	}
}
