package apidocs_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sms-platform/phone-numbers/local/apidocs"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/openapitest"
)

// screenshotPath is where the test keeps its screenshot of the rendered reference, relative to
// the repository root (bin/ is not in git).
const screenshotPath = "bin/test-artefacts/api-reference.png"

// operationRoute is the reference's own (hash) route to the operation: its tag, then its
// operationId in lower case.
const operationRoute = "#/phone-numbers/updatephonenumber"

const (
	demoPath     = "/v1/phone-numbers/497f6eca-6276-4993-bfeb-53cbbbba6f08"
	windowWidth  = 1280
	windowHeight = 3000
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := engine.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// chromiumBinary finds Debian's chromium. Where it is missing the test skips, except under
// CI=true, where .ci/run installs it and its absence is a failure.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "chromium is not installed: run `make chromium` (apt-get install -y chromium, as root)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true requires it")
	}
	t.Skip(msg)
	return ""
}

// TestReferenceRendersInChromium builds the reference from the current document, serves it as
// make run does, opens the operation in headless Chromium and checks what a reader sees: the
// operation, every documented status and the If-Match header. It keeps the screenshot under bin/.
func TestReferenceRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the reference and starts Chromium; skipped with -short")
	}
	browser := chromiumBinary(t)
	t.Parallel()
	root := repoRoot(t)
	page := filepath.Join(t.TempDir(), "index.html")
	// Generous: redocly and Chromium each take a minute or more on a loaded machine (measured:
	// Chromium alone 55 to 65 s at a load average of 24 on two cores), within go test's default
	// ten minutes.
	ctx, cancel := context.WithTimeout(t.Context(), 9*time.Minute)
	defer cancel()
	if err := apidocs.Build(ctx, root, page); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(apidocs.Handler(http.NotFoundHandler(), root, page))
	defer srv.Close()

	shot := filepath.Join(root, screenshotPath)
	if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
		t.Fatal(err)
	}
	// A screenshot left by an earlier run must not pass for this one's.
	if err := os.Remove(shot); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	dom := renderInChromium(t, ctx, browser, srv.URL+apidocs.PageRoute+operationRoute, shot)

	text := visibleText(t, dom)
	for _, want := range []string{
		"Update routing on a phone number you own", // the operation's summary
		"/v1/phone-numbers/{id}",
		"If-Match",
		"PRECONDITION_FAILED",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered reference does not show %q; it shows:\n%s", want, text)
		}
	}
	doc, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	statuses, err := doc.ResponseStatuses(http.MethodPatch, demoPath)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range statuses {
		want = append(want, strconv.Itoa(s))
	}
	// The reference lists the responses as one tab per status between "Responses" and its
	// "Collapse all" button.
	_, responses, _ := strings.Cut(text, "Responses ")
	responses, _, _ = strings.Cut(responses, "Collapse all")
	if got := strings.Fields(responses); !slices.Equal(got, want) {
		t.Errorf("the rendered Responses section lists %q, want every documented status %q", got, want)
	}

	checkScreenshot(t, shot)
}

// chromiumAttempts and chromiumAttemptTimeout bound the renders: headless Chromium's virtual time
// budget intermittently never expires under heavy load (seen here: an attempt still running after
// nine minutes, where the same render usually takes one). A hung attempt is killed with all its
// processes and the render tried again; a render that finishes is never retried, so a broken page
// still fails on its first answer.
const (
	chromiumAttempts       = 3
	chromiumAttemptTimeout = 150 * time.Second
)

// renderInChromium opens url in headless Chromium, writes a screenshot of the window to shot and
// returns the DOM once the page's scripts have run.
func renderInChromium(t *testing.T, ctx context.Context, browser, url, shot string) []byte {
	t.Helper()
	for attempt := 1; ; attempt++ {
		args := []string{
			"--headless", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
			"--user-data-dir=" + t.TempDir(),
			// Nothing but the page: no background services competing for a loaded machine.
			"--disable-extensions", "--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--disable-default-apps", "--mute-audio", "--disable-dev-shm-usage",
			// The page is self-contained; only its logo would come from a CDN, which is not
			// reachable here: fail every other name at once instead of waiting for DNS.
			"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
			// Virtual time lets the page's scripts run to completion before the dump.
			"--virtual-time-budget=15000",
			"--window-size=" + strconv.Itoa(windowWidth) + "," + strconv.Itoa(windowHeight),
			"--screenshot=" + shot, "--dump-dom", url,
		}
		if os.Geteuid() == 0 {
			args = append([]string{"--no-sandbox"}, args...) // Chromium refuses to run its sandbox as root
		}
		attemptCtx, cancel := context.WithTimeout(ctx, chromiumAttemptTimeout)
		cmd := exec.CommandContext(attemptCtx, browser, args...)
		// Chromium's renderers and helpers are its children: kill them all with it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 10 * time.Second
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		dom, err := cmd.Output()
		hung := attemptCtx.Err() != nil
		cancel()
		switch {
		case err == nil:
			t.Logf("Chromium rendered the reference in %s (attempt %d); screenshot: %s", time.Since(start).Round(time.Millisecond), attempt, shot)
			return dom
		case !hung || attempt == chromiumAttempts || ctx.Err() != nil:
			t.Fatalf("chromium, attempt %d: %v\n%s", attempt, err, stderr.String())
		}
		t.Logf("Chromium attempt %d did not finish in %s: killed, trying again", attempt, chromiumAttemptTimeout)
	}
}

// visibleText returns the text of an HTML document outside scripts and styles, with runs of space
// collapsed.
func visibleText(t *testing.T, dom []byte) string {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(dom))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("parse the rendered page: %v", z.Err())
			}
			return strings.Join(strings.Fields(b.String()), " ")
		case html.StartTagToken:
			if name, _ := z.TagName(); string(name) == "script" || string(name) == "style" {
				skip++
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); (string(name) == "script" || string(name) == "style") && skip > 0 {
				skip--
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
				b.WriteByte(' ')
			}
		}
	}
}

// checkScreenshot checks that the screenshot is a PNG of the window with something drawn on it:
// a blank or failed render is white.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	bounds := img.Bounds()
	if bounds.Dx() != windowWidth || bounds.Dy() != windowHeight {
		t.Errorf("screenshot is %dx%d, want the window's %dx%d", bounds.Dx(), bounds.Dy(), windowWidth, windowHeight)
	}
	drawn := 0
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 4 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 4 {
			if r, g, b, _ := img.At(x, y).RGBA(); r < 0xf000 || g < 0xf000 || b < 0xf000 {
				drawn++
			}
		}
	}
	samples := (bounds.Dx() / 4) * (bounds.Dy() / 4)
	if drawn*100 < samples { // text and tables cover well over 1% of a rendered page
		t.Errorf("screenshot %s is almost blank: %d of %d sampled pixels are not white", path, drawn, samples)
	}
}

func TestHandlerServesTheDocumentAndThePageBesideTheAPI(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	page := filepath.Join(t.TempDir(), "index.html")
	const pageHTML = "<!doctype html><title>reference</title>"
	if err := os.WriteFile(page, []byte(pageHTML), 0o644); err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "api")
		w.WriteHeader(http.StatusTeapot)
	})
	srv := httptest.NewServer(apidocs.Handler(api, root, page))
	defer srv.Close()
	document, err := os.ReadFile(filepath.Join(root, apidocs.DocumentPath))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		body         []byte // nil: not checked
		fromAPI      bool
	}{
		{http.MethodGet, "/openapi.yaml", 200, "application/yaml", document, false},
		{http.MethodGet, "/docs", 200, "text/html; charset=utf-8", []byte(pageHTML), false},
		{http.MethodGet, "/docs/", 200, "text/html; charset=utf-8", []byte(pageHTML), false},
		{http.MethodHead, "/openapi.yaml", 200, "application/yaml", []byte{}, false},
		{http.MethodPatch, "/v1/phone-numbers/x", http.StatusTeapot, "", nil, true},
		{http.MethodPost, "/openapi.yaml", http.StatusTeapot, "", nil, true},
		{http.MethodGet, "/docs/other", http.StatusTeapot, "", nil, true},
		{http.MethodGet, "/", http.StatusTeapot, "", nil, true},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := send(t, srv.Client(), tc.method, srv.URL+tc.path)
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("X-From") == "api"; got != tc.fromAPI {
				t.Errorf("answered by the API: %v, want %v", got, tc.fromAPI)
			}
			if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tc.contentType)
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body: got %d bytes, want %d bytes", len(body), len(tc.body))
			}
		})
	}
}

// TestHandlerBuildsAMissingPage covers a server started without `make docs`: the first request
// to /docs builds the page.
func TestHandlerBuildsAMissingPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the reference with redocly; skipped with -short")
	}
	t.Parallel()
	root := repoRoot(t)
	page := filepath.Join(t.TempDir(), "docs", "index.html")
	srv := httptest.NewServer(apidocs.Handler(http.NotFoundHandler(), root, page))
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Minute} // redocly is slow on a loaded machine
	resp, body := send(t, client, http.MethodGet, srv.URL+"/docs")
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Update routing on a phone number you own")) {
		t.Fatalf("GET /docs without a built page: status %d, %d bytes: %.300s", resp.StatusCode, len(body), body)
	}
	if _, err := os.Stat(page); err != nil {
		t.Errorf("the page was served but not written to %s: %v", page, err)
	}
}

// send sends a request without a body and returns the response and its body.
func send(t *testing.T, client *http.Client, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
