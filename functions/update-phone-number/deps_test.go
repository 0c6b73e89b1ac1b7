package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// modulePath is this repository's module.
const modulePath = "github.com/sms-platform/phone-numbers"

// forbiddenDependency reports why the shipped function must not link pkg, or "" when it may.
func forbiddenDependency(pkg string) string {
	switch {
	case pkg == modulePath+"/local" || strings.HasPrefix(pkg, modulePath+"/local/"):
		return "local tooling (local/) never ships"
	case pkg == "testing" || strings.HasPrefix(pkg, "testing/"):
		return "test support never ships"
	case pkg == "flag":
		return "the function is configured by its environment, not by flags"
	case strings.HasPrefix(pkg, "github.com/awslabs/goformation"):
		return "template parsing is for the template test"
	case pkg == "github.com/aws/aws-sdk-go-v2/config" || strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/config/"):
		return "the SDK's config module links SSO, STS and IMDS clients the function does not use (dynamostore.NewClient)"
	case strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/feature/dynamodb/"):
		return "the store writes plain-text expressions and codes items by hand: the expression builder and the reflective attributevalue cost about a fifth of a request's CPU"
	}
	return ""
}

// TestFunctionLinksNothingFromLocalTooling lists every package the deployed binary links, built
// as the Makefile builds it (linux/arm64, tag lambda.norpc) and as the local bootstrap is built
// (this machine's architecture), and fails on any that only local tooling or tests may use.
func TestFunctionLinksNothingFromLocalTooling(t *testing.T) {
	t.Parallel()
	builds := []struct {
		name string
		env  []string
	}{
		{"deployed linux/arm64", []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64"}},
		{"local linux bootstrap", []string{"CGO_ENABLED=0", "GOOS=linux"}},
	}
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(goTool(t), "list", "-tags", "lambda.norpc", "-deps", ".")
			cmd.Env = append(os.Environ(), b.env...)
			cmd.Stderr = new(strings.Builder)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps: %v\n%s", err, cmd.Stderr)
			}
			deps := strings.Fields(string(out))
			// The list must hold the function's own packages, or it proves nothing.
			for _, want := range []string{modulePath + "/functions/update-phone-number", modulePath + "/pkg/wiring", "github.com/aws/aws-sdk-go-v2/service/dynamodb"} {
				if !slices.Contains(deps, want) {
					t.Fatalf("go list -deps lists no %s among %d packages: the listing is wrong", want, len(deps))
				}
			}
			for _, pkg := range deps {
				if why := forbiddenDependency(pkg); why != "" {
					t.Errorf("the function links %s: %s", pkg, why)
				}
			}
		})
	}
}

func TestForbiddenDependencyRecognisesEachRule(t *testing.T) {
	t.Parallel()
	for pkg, forbidden := range map[string]bool{
		modulePath + "/local/localconfig": true,
		modulePath + "/local/fixtures":    true,
		"testing":                         true,
		"testing/iotest":                  true,
		"flag":                            true,
		"github.com/awslabs/goformation/v7/cloudformation":             true,
		"github.com/aws/aws-sdk-go-v2/config":                          true,
		"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression":     true,
		"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue": true,
		modulePath + "/pkg/wiring":                                     false,
		modulePath + "/localish":                                       false,
		"github.com/aws/aws-sdk-go-v2/service/dynamodb":                false,
		"github.com/aws/aws-sdk-go-v2/configsources":                   false,
		"internal/testlog":                                             false,
	} {
		if got := forbiddenDependency(pkg) != ""; got != forbidden {
			t.Errorf("forbiddenDependency(%q) forbids: %v, want %v", pkg, got, forbidden)
		}
	}
}
