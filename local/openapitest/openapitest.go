// Package openapitest holds the handler's responses to the OpenAPI document
// pkg/apigw/openapi.yaml. The integration and emulator suites pass every response they receive to
// ValidateResponse, so the code and the document cannot drift apart without a test failing. Only
// tests import it: the Lambda binary links neither the document nor the validator.
package openapitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/sms-platform/phone-numbers/local/apidocs"
	"github.com/sms-platform/phone-numbers/local/engine"
)

// Document is a loaded, validated OpenAPI document.
type Document struct {
	spec *openapi3.T
	// contractHeaders are the headers that some response of the document declares. A response
	// carrying one that its own status does not declare (an ETag on a 404, Retry-After on a 400)
	// breaks the document even though OpenAPI itself allows undeclared headers.
	contractHeaders []string
}

var (
	loadOnce  sync.Once
	loaded    *Document
	errLoad   error
	validated atomic.Int64
)

// Load returns the repository's document, read and validated once per test binary.
func Load() (*Document, error) {
	loadOnce.Do(func() {
		root, err := engine.RepoRoot()
		if err != nil {
			errLoad = err
			return
		}
		loaded, errLoad = LoadFile(filepath.Join(root, apidocs.DocumentPath))
	})
	return loaded, errLoad
}

// LoadFile reads the OpenAPI document at path and validates it, its examples included.
func LoadFile(path string) (*Document, error) {
	loader := openapi3.NewLoader()
	spec, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document %s: %w", path, err)
	}
	if err := spec.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("OpenAPI document %s is invalid: %w", path, err)
	}
	d := &Document{spec: spec}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			for _, resp := range op.Responses.Map() {
				for name := range resp.Value.Headers {
					if !slices.Contains(d.contractHeaders, name) {
						d.contractHeaders = append(d.contractHeaders, name)
					}
				}
			}
		}
	}
	slices.Sort(d.contractHeaders)
	return d, nil
}

// ValidateResponse reports through t every way a response to method path breaks the repository's
// document (see CheckResponse). Call it with every response a suite receives.
func ValidateResponse(t testing.TB, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	d, err := Load()
	if err != nil {
		t.Errorf("openapitest: %v", err) // not Fatalf: callers may validate from their goroutines
		return
	}
	validated.Add(1)
	if err := d.CheckResponse(method, path, status, header, body); err != nil {
		t.Errorf("%s %s: the %d response does not match %s:\n%v\nheaders: %v\nbody: %s",
			method, path, status, apidocs.DocumentPath, err, header, body)
	}
}

// Validated returns how many responses ValidateResponse has checked in this test binary.
func Validated() int64 { return validated.Load() }

// CheckResponse returns how a response to method path breaks the document, or nil. The response
// must have a status the operation documents; every header that status declares, matching its
// schema (X-Request-Id, Cache-Control, and ETag, Retry-After or WWW-Authenticate where declared);
// no header that only other statuses declare; a Content-Type that is exactly a documented media
// type; a body matching the status's schema; and, on errors, an error.request_id equal to
// X-Request-Id, as the document says in prose.
func (d *Document) CheckResponse(method, path string, status int, header http.Header, body []byte) error {
	route, params, err := d.route(method, path)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		return fmt.Errorf("request %s %s: %w", method, path, err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	var problems []error
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		problems = append(problems, err)
	}
	if ref := route.Operation.Responses.Status(status); ref != nil && ref.Value != nil {
		problems = append(problems, d.checkHeaders(ref.Value, header)...)
		if ct := header.Get("Content-Type"); len(ref.Value.Content) > 0 && ref.Value.Content[ct] == nil {
			problems = append(problems, fmt.Errorf("Content-Type %q is not exactly one of the documented %v", ct, slices.Sorted(maps.Keys(ref.Value.Content))))
		}
	}
	var envelope struct {
		Error *struct {
			RequestID *string `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &envelope) == nil && envelope.Error != nil && envelope.Error.RequestID != nil {
		if got, want := *envelope.Error.RequestID, header.Get("X-Request-Id"); got != want {
			problems = append(problems, fmt.Errorf("error.request_id %q differs from the X-Request-Id header %q", got, want))
		}
	}
	return errors.Join(problems...)
}

// checkHeaders finds contract headers the response carries but its status does not declare.
func (d *Document) checkHeaders(resp *openapi3.Response, header http.Header) []error {
	var problems []error
	for _, name := range d.contractHeaders {
		if len(header.Values(name)) == 0 {
			continue
		}
		if _, declared := resp.Headers[name]; !declared {
			problems = append(problems, fmt.Errorf("header %s is sent, but the document declares it only for other statuses", name))
		}
	}
	return problems
}

// route finds the operation for method and path (a path without host, its segments escaped) and
// the path parameters' values, unescaped.
func (d *Document) route(method, path string) (*routers.Route, map[string]string, error) {
	segments := strings.Split(strings.SplitN(path, "?", 2)[0], "/")
	for _, template := range d.spec.Paths.InMatchingOrder() {
		item := d.spec.Paths.Value(template)
		params, ok := matchPath(strings.Split(template, "/"), segments)
		if !ok {
			continue
		}
		op := item.GetOperation(method)
		if op == nil {
			return nil, nil, fmt.Errorf("the document has no %s operation on %s", method, template)
		}
		return &routers.Route{Spec: d.spec, Path: template, PathItem: item, Method: method, Operation: op}, params, nil
	}
	return nil, nil, fmt.Errorf("the document has no path matching %s", path)
}

// matchPath matches escaped path segments against a template's, where "{name}" matches one
// non-empty segment.
func matchPath(template, segments []string) (map[string]string, bool) {
	if len(template) != len(segments) {
		return nil, false
	}
	params := make(map[string]string)
	for i, t := range template {
		if name, ok := strings.CutPrefix(t, "{"); ok && strings.HasSuffix(name, "}") {
			value, err := url.PathUnescape(segments[i])
			if err != nil || value == "" {
				return nil, false
			}
			params[strings.TrimSuffix(name, "}")] = value
			continue
		}
		if t != segments[i] {
			return nil, false
		}
	}
	return params, true
}

// CheckRequest returns how a request breaks the document, or nil: its path and header
// parameters (If-Match), its Authorization scheme and its body must match the operation's
// schemas.
func (d *Document) CheckRequest(method, path string, header http.Header, body []byte) error {
	route, params, err := d.route(method, path)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, path, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("request %s %s: %w", method, path, err)
	}
	req.Header = header.Clone()
	return openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerScheme},
	})
}

// bearerScheme checks that the request authenticates the way its security scheme says: an HTTP
// Authorization header with that scheme. The secret's own format is the domain's to check.
func bearerScheme(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme := in.SecurityScheme
	if scheme == nil || scheme.Type != "http" {
		return fmt.Errorf("security scheme %s: only http schemes are checked", in.SecuritySchemeName)
	}
	got, _, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(got, scheme.Scheme) {
		return fmt.Errorf("the Authorization header has scheme %q, want %q", got, scheme.Scheme)
	}
	return nil
}

// RequestExamples returns the JSON bodies of the request examples of method path, by name.
func (d *Document) RequestExamples(method, path string) (map[string][]byte, error) {
	route, _, err := d.route(method, path)
	if err != nil {
		return nil, err
	}
	if route.Operation.RequestBody == nil || route.Operation.RequestBody.Value == nil {
		return nil, fmt.Errorf("%s %s has no request body", method, route.Path)
	}
	media := route.Operation.RequestBody.Value.Content.Get("application/json")
	if media == nil {
		return nil, fmt.Errorf("%s %s has no application/json request body", method, route.Path)
	}
	return encodeExamples(media.Examples)
}

// ResponseExamples returns the JSON bodies of the examples of the status response of method path,
// by name ("" for a single example).
func (d *Document) ResponseExamples(method, path string, status int) (map[string][]byte, error) {
	route, _, err := d.route(method, path)
	if err != nil {
		return nil, err
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("%s %s documents no %d response", method, route.Path, status)
	}
	media := ref.Value.Content.Get("application/json")
	if media == nil {
		return nil, fmt.Errorf("the %d response of %s %s has no application/json body", status, method, route.Path)
	}
	if media.Example != nil {
		encoded, err := json.Marshal(media.Example)
		return map[string][]byte{"": encoded}, err
	}
	return encodeExamples(media.Examples)
}

// ResponseStatuses returns the statuses the document gives method path, in ascending order.
func (d *Document) ResponseStatuses(method, path string) ([]int, error) {
	route, _, err := d.route(method, path)
	if err != nil {
		return nil, err
	}
	var statuses []int
	for code := range route.Operation.Responses.Map() {
		status, err := strconv.Atoi(code)
		if err != nil {
			return nil, fmt.Errorf("%s %s: response %q is not a status code", method, route.Path, code)
		}
		statuses = append(statuses, status)
	}
	slices.Sort(statuses)
	return statuses, nil
}

// HeaderExamples returns the examples of the header parameter name of method path, by name.
func (d *Document) HeaderExamples(method, path, name string) (map[string]string, error) {
	route, _, err := d.route(method, path)
	if err != nil {
		return nil, err
	}
	param := route.Operation.Parameters.GetByInAndName(openapi3.ParameterInHeader, name)
	if param == nil {
		return nil, fmt.Errorf("%s %s has no header parameter %s", method, route.Path, name)
	}
	out := make(map[string]string, len(param.Examples))
	for exampleName, ex := range param.Examples {
		s, ok := ex.Value.Value.(string)
		if !ok {
			return nil, fmt.Errorf("example %s of header %s is %T, not a string", exampleName, name, ex.Value.Value)
		}
		out[exampleName] = s
	}
	return out, nil
}

func encodeExamples(examples openapi3.Examples) (map[string][]byte, error) {
	out := make(map[string][]byte, len(examples))
	for name, ex := range examples {
		if ex == nil || ex.Value == nil {
			return nil, fmt.Errorf("example %s is unresolved", name)
		}
		encoded, err := json.Marshal(ex.Value.Value)
		if err != nil {
			return nil, fmt.Errorf("example %s: %w", name, err)
		}
		out[name] = encoded
	}
	return out, nil
}
