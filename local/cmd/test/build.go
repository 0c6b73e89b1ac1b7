package main

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/sms-platform/phone-numbers/local/gobuild"
)

// fileKind is what a test file's tests need, told by what the file imports.
type fileKind int

const (
	// unitFile tests need nothing but the code.
	unitFile fileKind = iota
	// engineFile tests are in a package whose TestMain is enginetest.Main, which runs them on
	// every engine of the run (testenv.EnvEngines).
	engineFile
	// crossEngineFile tests are engine tests of a package that also works across engines at once
	// (enginetest.Engines, comparing them): they run once, with every engine in one binary.
	crossEngineFile
	// dynaliteFile tests start dynalite themselves through local/engine.
	dynaliteFile
	// emulatorFile tests run the bootstrap under the Lambda emulator (local/rie).
	emulatorFile
	// templateFile tests read template.yaml (goformation).
	templateFile
)

// testPackage is a package with tests, compiled into a test binary.
type testPackage struct {
	importPath string
	dir        string
	binary     string
	// tests lists the package's tests, fuzz tests and examples by the kind of their file.
	tests map[fileKind][]string
}

// kindOf classifies a test file by its imports, by whether its package's TestMain is
// enginetest.Main (perEngine), and whether the package asks for every engine at once
// (crossEngine); the first match in this order wins.
func kindOf(module string, imports []string, perEngine, crossEngine bool) fileKind {
	has := func(prefix string) bool {
		for _, imp := range imports {
			if imp == prefix || strings.HasPrefix(imp, prefix+"/") {
				return true
			}
		}
		return false
	}
	switch {
	case has(module + "/local/rie"):
		return emulatorFile
	case has("github.com/awslabs/goformation"):
		return templateFile
	case (has(module+"/local/enginetest") || has(module+"/local/engine")) && perEngine && crossEngine:
		return crossEngineFile
	case (has(module+"/local/enginetest") || has(module+"/local/engine")) && perEngine:
		return engineFile
	case has(module+"/local/enginetest") || has(module+"/local/engine"):
		return dynaliteFile
	}
	return unitFile
}

// build compiles every package, then every test binary into dir, and returns the packages that
// have tests, with their tests classified.
func build(ctx context.Context, root, dir string) ([]*testPackage, error) {
	if err := goCmd(ctx, root, "build", "./..."); err != nil {
		return nil, err
	}
	module, err := goOutput(ctx, root, "list", "-m")
	if err != nil {
		return nil, err
	}
	module = strings.TrimSpace(module)
	// The tool go test -json runs the binaries through; recent Go releases build it on demand.
	test2jsonPath = filepath.Join(dir, "test2json")
	if err := goCmd(ctx, root, "build", "-o", test2jsonPath, "cmd/test2json"); err != nil {
		return nil, err
	}
	list, err := goOutput(ctx, root, "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .TestGoFiles \",\"}},{{join .XTestGoFiles \",\"}}", "./...")
	if err != nil {
		return nil, err
	}
	var pkgs []*testPackage
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) != 3 || strings.Trim(fields[2], ",") == "" {
			continue
		}
		p := &testPackage{importPath: fields[0], dir: fields[1], tests: map[fileKind][]string{}}
		var files []testFile
		perEngine, crossEngine := false, false
		for _, name := range strings.Split(fields[2], ",") {
			if name == "" {
				continue
			}
			f, err := parseTestFile(filepath.Join(p.dir, name))
			if err != nil {
				return nil, err
			}
			files = append(files, f)
			perEngine = perEngine || f.callsEngineMain
			crossEngine = crossEngine || f.usesAllEngines
		}
		for _, f := range files {
			kind := kindOf(module, f.imports, perEngine, crossEngine)
			p.tests[kind] = append(p.tests[kind], f.tests...)
		}
		pkgs = append(pkgs, p)
	}
	// go test -c -o DIR/ names each binary after the last element of the import path, so
	// packages sharing it are compiled in separate rounds, into separate folders.
	var rounds [][]*testPackage
	seen := map[string]int{}
	for _, p := range pkgs {
		base := path.Base(p.importPath)
		round := seen[base]
		seen[base]++
		if round == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[round] = append(rounds[round], p)
		p.binary = filepath.Join(dir, strconv.Itoa(round), base+".test")
	}
	for i, round := range rounds {
		args := []string{"test", "-c", "-o", filepath.Join(dir, strconv.Itoa(i)) + string(os.PathSeparator)}
		for _, p := range round {
			args = append(args, p.importPath)
		}
		if err := goCmd(ctx, root, args...); err != nil {
			return nil, err
		}
	}
	if err := buildBootstraps(ctx, root, dir); err != nil {
		return nil, err
	}
	return pkgs, nil
}

// buildBootstraps builds the function as the emulator phase will, through gobuild: for Linux on
// this machine (the emulator test and the rehearsal run it under the Lambda emulator) and for
// linux/arm64 (the rehearsal's sam build). Those tests build it again themselves, so that go test
// alone runs them, but then find everything in the build cache. Without this, on an empty cache
// they compiled the SDK for these targets twice at once, in the emulator phase.
func buildBootstraps(ctx context.Context, root, dir string) error {
	arches := []string{runtime.GOARCH}
	if runtime.GOARCH != "arm64" {
		arches = append(arches, "arm64")
	}
	for _, arch := range arches {
		if err := gobuild.Bootstrap(ctx, goBinary(), root, gobuild.FunctionPackage, arch, filepath.Join(dir, "bootstrap-linux-"+arch)); err != nil {
			return err
		}
	}
	return nil
}

// testFile is what the runner needs to know of a _test.go file.
type testFile struct {
	imports []string
	// tests names its tests, fuzz tests and examples.
	tests []string
	// callsEngineMain is set when it calls enginetest.Main (from TestMain).
	callsEngineMain bool
	// usesAllEngines is set when it asks for every engine at once (enginetest.Engines).
	usesAllEngines bool
}

// parseTestFile reads a _test.go file.
func parseTestFile(file string) (testFile, error) {
	var tf testFile
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	if err != nil {
		return tf, fmt.Errorf("parse %s: %w", file, err)
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		tf.imports = append(tf.imports, p)
	}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil {
			continue
		}
		ast.Inspect(fn, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "enginetest" {
					tf.callsEngineMain = tf.callsEngineMain || sel.Sel.Name == "Main"
					tf.usesAllEngines = tf.usesAllEngines || sel.Sel.Name == "Engines"
				}
			}
			return true
		})
		if fn.Name.Name == "TestMain" {
			continue
		}
		for _, prefix := range []string{"Test", "Fuzz", "Example"} {
			if isTestName(fn.Name.Name, prefix) {
				tf.tests = append(tf.tests, fn.Name.Name)
			}
		}
	}
	return tf, nil
}

// isTestName reports whether name is prefix followed by nothing or by a non-lower-case letter, as
// go test requires.
func isTestName(name, prefix string) bool {
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	rest := name[len(prefix):]
	return rest == "" || !('a' <= rest[0] && rest[0] <= 'z')
}

// goCmd runs the go command in root, its output going to ours.
func goCmd(ctx context.Context, root string, args ...string) error {
	cmd := exec.CommandContext(ctx, goBinary(), args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// goOutput runs the go command in root and returns its standard output.
func goOutput(ctx context.Context, root string, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goBinary(), args...)
	cmd.Dir = root
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// goBinary is the go command: $GO when make passes it, else go on PATH.
func goBinary() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
