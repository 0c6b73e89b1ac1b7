package engine

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// motoCommand returns the command that serves moto on 127.0.0.1:port through local/moto_server.py,
// which runs moto's own application one request at a time (see that file: moto alone is not
// atomic under concurrent writes, DynamoDB is), with the Python interpreter that moto_server, the
// executable found at bin, runs on.
func motoCommand(root, bin string, port int) (*exec.Cmd, error) {
	python, err := interpreterOf(bin)
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, "local", "moto_server.py")
	return exec.Command(python, script, "-H", "127.0.0.1", "-p", strconv.Itoa(port)), nil
}

// interpreterOf returns the Python that runs the script bin: the interpreter its #! line names
// (pip writes the absolute path of its Python there), else the python3 beside it (a pyenv shim or
// a virtualenv's bin folder), else python3 on PATH.
func interpreterOf(bin string) (string, error) {
	if f, err := os.Open(bin); err == nil {
		line, _ := bufio.NewReader(f).ReadString('\n')
		f.Close()
		if fields := strings.Fields(strings.TrimPrefix(line, "#!")); strings.HasPrefix(line, "#!") && len(fields) > 0 &&
			strings.Contains(filepath.Base(fields[0]), "python") {
			return fields[0], nil
		}
	}
	beside := filepath.Join(filepath.Dir(bin), "python3")
	if info, err := os.Stat(beside); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
		return beside, nil
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("find the Python that runs %s: no #! interpreter, no python3 beside it or on PATH", bin)
	}
	return python, nil
}
