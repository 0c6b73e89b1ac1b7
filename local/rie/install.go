package rie

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

// Installed returns local/bin/aws-lambda-rie under the repository root, installing it first with
// the go command goTool, at the version the Makefile pins (RIE_VERSION), when it is missing: what
// make tools does, for tests run with a plain go test.
func Installed(root, goTool string) (string, error) {
	bin := filepath.Join(root, "local", "bin", "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return "", fmt.Errorf("install aws-lambda-rie: %w", err)
	}
	m := regexp.MustCompile(`(?m)^RIE_VERSION\s*:=\s*(\S+)`).FindSubmatch(makefile)
	if m == nil {
		return "", fmt.Errorf("install aws-lambda-rie: the Makefile pins no RIE_VERSION")
	}
	pkg := "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@" + string(m[1])
	cmd := exec.Command(goTool, "install", pkg)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(bin))
	if combined, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("install %s (or run make tools): %v\n%s", pkg, err, combined)
	}
	return bin, nil
}
