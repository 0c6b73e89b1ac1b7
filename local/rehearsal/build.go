package rehearsal

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sms-platform/phone-numbers/local/gobuild"
)

// artifact is the function's deployment package as `sam build` and `sam package` make it.
type artifact struct {
	// Bootstrap is the linux/arm64 executable the Makefile built.
	Bootstrap string
	// Zip is the package's content and SHA256 its hex digest (sam package names uploads after the
	// package's digest too).
	Zip    []byte
	SHA256 string
}

// buildArtifact runs the Makefile target `sam build` runs for the function (BuildMethod
// makefile): `make build-<LogicalId>` in the folder holding the Makefile (samconfig.toml builds in
// source, so nothing is copied first), with ARTIFACTS_DIR in the environment, as SAM passes it.
// It checks that the target produced a linux/arm64 executable named bootstrap, and zips it as
// Lambda expects: bootstrap at the root, executable.
func buildArtifact(ctx context.Context, root, logicalID, artifactsDir string) (*artifact, string, error) {
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		return nil, "", fmt.Errorf("build: %w", err)
	}
	target := "build-" + logicalID
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "--makefile", filepath.Join(root, "Makefile"), target)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+artifactsDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("build: make %s with ARTIFACTS_DIR=%s: %v\n%s", target, artifactsDir, err, out)
	}
	described := fmt.Sprintf("make %s with ARTIFACTS_DIR=%s", target, artifactsDir)
	bootstrap := filepath.Join(artifactsDir, "bootstrap")
	if err := checkExecutable(bootstrap, elf.EM_AARCH64); err != nil {
		return nil, described, fmt.Errorf("build: %s: %w", described, err)
	}
	content, err := os.ReadFile(bootstrap)
	if err != nil {
		return nil, described, fmt.Errorf("build: %w", err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	header := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
	header.SetMode(0o755) // Lambda runs the file, so it must keep its executable bit
	w, err := zw.CreateHeader(header)
	if err == nil {
		_, err = w.Write(content)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, described, fmt.Errorf("build: zip %s: %w", bootstrap, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return &artifact{Bootstrap: bootstrap, Zip: buf.Bytes(), SHA256: hex.EncodeToString(sum[:])}, described, nil
}

// buildHostBootstrap builds the function for Linux on this machine's architecture, with the
// Makefile's flags, for the Lambda emulator to run: the arm64 package cannot run here.
func buildHostBootstrap(ctx context.Context, root, out string) error {
	if err := gobuild.Bootstrap(ctx, goTool(), root, gobuild.FunctionPackage, runtime.GOARCH, out); err != nil {
		return fmt.Errorf("build the bootstrap for the emulator: %w", err)
	}
	return nil
}

// checkExecutable checks that path is a Linux ELF executable for machine.
func checkExecutable(path string, machine elf.Machine) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not an ELF executable: %w", path, err)
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return fmt.Errorf("%s is %s %s, want a Linux %s executable", path, f.Machine, f.Type, machine)
	}
	return nil
}

// goTool returns the go command that runs this program's tests or tools.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if goroot := os.Getenv("GOROOT"); goroot != "" {
		return filepath.Join(goroot, "bin", "go")
	}
	return "go"
}

// bytesText formats a size with thousands separators.
func bytesText(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + " B"
}
