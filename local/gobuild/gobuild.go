// Package gobuild builds the function's bootstrap as make build does: the Makefile's
// GO_BUILD_FLAGS, CGO_ENABLED=0, GOOS=linux. The Makefile is the one place the flags are written;
// make test's build phase, the emulator test, the deploy rehearsal and the bench all build through
// here, so their builds are identical and share the build cache (on an empty cache, builds with
// flags of their own each compiled the SDK again).
//
// It uses only the standard library: make test's runner imports it and must start printing at
// once on an empty build cache.
package gobuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// FunctionPackage is the function's package, relative to the repository root.
const FunctionPackage = "./functions/update-phone-number"

// Bootstrap builds pkg (FunctionPackage, or another main package of the module) in root with the
// go command goCmd, for linux/goarch, into out, with the Makefile's flags.
func Bootstrap(ctx context.Context, goCmd, root, pkg, goarch, out string) error {
	flags, err := MakefileFlags(root)
	if err != nil {
		return err
	}
	args := append(append([]string{"build"}, flags...), "-o", out, pkg)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if combined, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s (linux/%s): %w\n%s", strings.Join(args, " "), goarch, err, combined)
	}
	return nil
}

// MakefileFlags reads GO_BUILD_FLAGS from the Makefile in root and splits it into arguments,
// so that a build here is exactly make build's.
func MakefileFlags(root string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return nil, fmt.Errorf("read build flags: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		name, value, ok := strings.Cut(line, ":=")
		if ok && strings.TrimSpace(name) == "GO_BUILD_FLAGS" {
			return splitShellWords(strings.TrimSpace(value))
		}
	}
	return nil, errors.New("no GO_BUILD_FLAGS := line in the Makefile")
}

// splitShellWords splits s into words as a shell would, for the quoting a Makefile uses: single
// and double quotes group, and are removed.
func splitShellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
