package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sms-platform/phone-numbers/local/gobuild"
)

const (
	functionPkg = "./functions/update-phone-number"
	minimalPkg  = "./local/cmd/bench/minimal"
	runPkg      = "./local/cmd/run"
	benchPkg    = "./local/cmd/bench"
)

// builds holds the executables the bench runs and measures.
type builds struct {
	dir string
	// flags are the Makefile's GO_BUILD_FLAGS, as used for every bootstrap.
	flags []string
	// oursHost and minimalHost run under the emulator on this machine.
	oursHost, minimalHost string
	// run is make run's server; test is this package's test binary, holding the full-path
	// benchmarks.
	run, test string
	// Sizes of the arm64 (deployed) builds, and of their zips.
	oursSize, minimalSize       int64
	oursZipSize, minimalZipSize int64
}

// buildAll builds, into a fresh temporary directory: the function and the minimal bootstrap for
// this machine and for arm64, with the Makefile's flags; make run's server as make run builds
// it; and this package's test binary.
func buildAll(ctx context.Context, o options) (*builds, error) {
	flags, err := gobuild.MakefileFlags(".")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-bootstraps-")
	if err != nil {
		return nil, err
	}
	b := &builds{dir: dir, flags: flags}
	type build struct {
		pkg, goarch, out string
	}
	oursArm := filepath.Join(dir, "arm64", "ours", "bootstrap")
	minimalArm := filepath.Join(dir, "arm64", "minimal", "bootstrap")
	b.oursHost = filepath.Join(dir, "host", "ours", "bootstrap")
	b.minimalHost = filepath.Join(dir, "host", "minimal", "bootstrap")
	b.run, b.test = filepath.Join(dir, "host", "run"), filepath.Join(dir, "host", "bench.test")
	for _, x := range []build{
		{o.function, runtime.GOARCH, b.oursHost},
		{minimalPkg, runtime.GOARCH, b.minimalHost},
		{o.function, "arm64", oursArm},
		{minimalPkg, "arm64", minimalArm},
		{runPkg, runtime.GOARCH, b.run},
		{benchPkg, runtime.GOARCH, b.test},
	} {
		start := time.Now()
		var args []string
		switch x.pkg {
		case runPkg:
			args = []string{"build", "-o", x.out, x.pkg}
		case benchPkg:
			args = []string{"test", "-c", "-o", x.out, x.pkg}
		default:
			// A bootstrap, built as gobuild.Bootstrap builds it.
			args = append(append([]string{"build"}, flags...), "-o", x.out, x.pkg)
		}
		cmd := exec.CommandContext(ctx, o.goBin, args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+x.goarch)
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("go %s (GOARCH=%s): %w\n%s", strings.Join(args, " "), x.goarch, err, out)
		}
		progress("built %s for linux/%s in %s", x.pkg, x.goarch, time.Since(start).Round(time.Millisecond))
	}
	for _, x := range []struct {
		path      string
		size, zip *int64
	}{{oursArm, &b.oursSize, &b.oursZipSize}, {minimalArm, &b.minimalSize, &b.minimalZipSize}} {
		info, err := os.Stat(x.path)
		if err != nil {
			return nil, err
		}
		*x.size = info.Size()
		if *x.zip, err = zipSize(x.path); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// zipSize returns the size of a deployment zip holding the file as "bootstrap", deflated, the
// way sam build packages a provided.al2023 function.
func zipSize(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	header := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	header.SetMode(0o755)
	w, err := zw.CreateHeader(header)
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(data); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}

// rows returns the size rows.
func (b *builds) rows() []row {
	return []row{
		compared("bootstrap-size-arm64", "arm64 bootstrap, as make build builds it", unitBytes,
			[]float64{float64(b.oursSize)}, []float64{float64(b.minimalSize)}, targetBootstrap),
		compared("zip-size-arm64", "arm64 deployment zip (deflate)", unitBytes,
			[]float64{float64(b.oursZipSize)}, []float64{float64(b.minimalZipSize)}, nil),
	}
}

func commandOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	return string(out), err
}
