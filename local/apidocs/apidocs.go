// Package apidocs serves the API reference beside the local API: the OpenAPI document at
// /openapi.yaml and the HTML reference that redocly renders from it at /docs. It is local tooling:
// the deployed function serves neither.
package apidocs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/sms-platform/phone-numbers/local/engine"
)

// DocumentPath is where the OpenAPI document lives, relative to the repository root.
const DocumentPath = "pkg/apigw/openapi.yaml"

// PagePath is where `make docs` writes the HTML reference, relative to the repository root.
const PagePath = "bin/docs/index.html"

// Routes of the reference on the local server.
const (
	DocumentRoute = "/openapi.yaml"
	PageRoute     = "/docs"
)

// Build renders the repository's OpenAPI document into the self-contained HTML page out, as
// `make docs` does: redocly build-docs, pinned in local/package-lock.json and configured by
// local/redocly.yaml, with its scripts inlined so that the page needs no network.
func Build(ctx context.Context, root, out string) error {
	if err := engine.InstallNodeTools(root, "@redocly/cli"); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("build API reference: %w", err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "local", "node_modules", ".bin", "redocly"), "build-docs",
		"--config", filepath.Join(root, "local", "redocly.yaml"), "--inlineBundle",
		filepath.Join(root, DocumentPath), "--output", out)
	cmd.Env = append(os.Environ(), "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	if combined, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build API reference with redocly: %w\n%s", err, combined)
	}
	return nil
}

// Handler returns api with the reference beside it: GET /openapi.yaml serves the repository's
// OpenAPI document as it is on disk, and GET /docs serves the HTML page at page, building it first
// when it is missing. Every other request goes to api.
func Handler(api http.Handler, root, page string) http.Handler {
	return &handler{api: api, root: root, page: page}
}

type handler struct {
	api        http.Handler
	root, page string
	building   sync.Mutex // one build at a time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isRead := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case isRead && r.URL.Path == DocumentRoute:
		// RFC 9512's media type; no-cache, so that an edited document shows on the next load.
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFile(w, r, filepath.Join(h.root, DocumentPath))
	case isRead && (r.URL.Path == PageRoute || r.URL.Path == PageRoute+"/"):
		if err := h.ensurePage(r.Context()); err != nil {
			http.Error(w, "the API reference could not be built (run make docs): "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFile(w, r, h.page)
	default:
		h.api.ServeHTTP(w, r)
	}
}

// ensurePage builds the page when it does not exist, for a server started without `make docs`.
func (h *handler) ensurePage(ctx context.Context) error {
	h.building.Lock()
	defer h.building.Unlock()
	if _, err := os.Stat(h.page); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return Build(ctx, h.root, h.page)
}
