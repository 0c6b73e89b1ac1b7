// Package faultproxy is a fault-injecting HTTP reverse proxy for tests: it sits on 127.0.0.1
// between a DynamoDB client and a local engine, and a script decides, request by request, whether
// it passes the request through or throttles it, fails it, answers slowly or drops the
// connection. It counts what it saw per DynamoDB operation, so that tests can check how often a
// client retried and whether a request ever reached the engine. Only tests use it.
package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Action is what the proxy does with a request once any delay is over.
type Action int

// The actions. Every action but Pass and DropAfterForward answers without forwarding, so the
// engine never sees the request.
const (
	// Pass forwards the request to the engine and relays its answer.
	Pass Action = iota
	// Throttle answers HTTP 400 ProvisionedThroughputExceededException, as DynamoDB does when a
	// table's provisioned capacity is exhausted.
	Throttle
	// Throttling answers HTTP 400 ThrottlingException, as DynamoDB does when it sheds load.
	Throttling
	// InternalError answers HTTP 500 InternalServerError.
	InternalError
	// Drop closes the connection without answering.
	Drop
	// DropAfterForward forwards the request, lets the engine apply it and read its answer, then
	// closes the client's connection without answering: the write happened, the client cannot
	// know it.
	DropAfterForward
)

// String names the action, for test messages.
func (a Action) String() string {
	switch a {
	case Pass:
		return "pass"
	case Throttle:
		return "ProvisionedThroughputExceededException"
	case Throttling:
		return "ThrottlingException"
	case InternalError:
		return "InternalServerError"
	case Drop:
		return "drop"
	case DropAfterForward:
		return "drop after forward"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Fault is what the proxy does with one request: it waits Delay, then performs Action. When the
// client gives up during the delay (its attempt timed out or its context ended), the proxy drops
// the request without forwarding it.
type Fault struct {
	Delay  time.Duration
	Action Action
}

// String describes the fault, for test names.
func (f Fault) String() string {
	if f.Delay == 0 {
		return f.Action.String()
	}
	return fmt.Sprintf("%s after %s", f.Action, f.Delay)
}

// Slow returns the fault that passes a request through after d.
func Slow(d time.Duration) Fault { return Fault{Delay: d, Action: Pass} }

// Request is what a Script knows about a request.
type Request struct {
	// Operation is the DynamoDB operation named by the X-Amz-Target header, such as "UpdateItem";
	// "" when the header is absent.
	Operation string
	// Attempt counts the requests of Operation since the script was set: 1 for the first.
	Attempt int
	// Body is the request's JSON document, for scripts that check what the client asked for.
	Body []byte
}

// Script decides the fault for each request. It is called from the proxy's request goroutines,
// one call at a time.
type Script func(Request) Fault

// Always returns a script that applies f to every request of operation op, or of every operation
// when op is "", and passes the others through.
func Always(op string, f Fault) Script {
	return func(r Request) Fault {
		if op == "" || r.Operation == op {
			return f
		}
		return Fault{}
	}
}

// Sequence returns a script that applies faults[i] to attempt i+1 of operation op, or of each
// operation when op is "", and passes every other request through.
func Sequence(op string, faults ...Fault) Script {
	return func(r Request) Fault {
		if (op == "" || r.Operation == op) && r.Attempt <= len(faults) {
			return faults[r.Attempt-1]
		}
		return Fault{}
	}
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's base URL, such as http://127.0.0.1:41234: use it as the client's
	// endpoint.
	URL string

	forward   *httputil.ReverseProxy
	transport *http.Transport
	server    *http.Server
	closed    chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	script    Script
	seen      map[string]int
	forwarded map[string]int
}

// New starts a proxy on a free port of 127.0.0.1 in front of the engine at target (its base URL)
// that passes everything through until SetScript says otherwise.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an absolute URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	p := &Proxy{
		URL:       "http://" + ln.Addr().String(),
		transport: transport,
		closed:    make(chan struct{}),
		script:    Always("", Fault{}),
		seen:      map[string]int{},
		forwarded: map[string]int{},
		forward: &httputil.ReverseProxy{
			Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
			Transport: transport,
			// An unreachable engine becomes a 502, which clients retry; it is not news in a test log.
			ErrorLog: log.New(io.Discard, "", 0),
		},
	}
	p.server = &http.Server{Handler: p, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = p.server.Serve(ln) }()
	return p, nil
}

// SetScript makes s decide the fate of every later request and resets the counts, so that
// Attempt, Count and Forwarded start from zero.
func (p *Proxy) SetScript(s Script) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.script = s
	p.seen = map[string]int{}
	p.forwarded = map[string]int{}
}

// Count returns how many requests of operation op the proxy received since the script was set,
// whatever it did with them.
func (p *Proxy) Count(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[op]
}

// Forwarded returns how many requests of operation op the proxy sent on to the engine since the
// script was set: an upper bound on what the engine may have applied.
func (p *Proxy) Forwarded(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forwarded[op]
}

// Close stops the proxy: it closes the listener and every connection, and abandons any delay in
// progress.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() {
		close(p.closed)
		_ = p.server.Close()
		p.transport.CloseIdleConnections()
	})
}

// ServeHTTP applies the script's fault to r.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the whole body first: the server notices a client that goes away only once the body
	// is consumed, and the delay must end when the client does.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		drop(w)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	op := operation(r.Header.Get("X-Amz-Target"))
	p.mu.Lock()
	p.seen[op]++
	fault := p.script(Request{Operation: op, Attempt: p.seen[op], Body: body})
	p.mu.Unlock()

	if fault.Delay > 0 {
		timer := time.NewTimer(fault.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
		case <-p.closed:
		}
	}
	// A client that gave up during the delay must not have its request applied later.
	if r.Context().Err() != nil || p.isClosed() {
		drop(w)
		return
	}

	out, cancel := detached(r)
	defer cancel()
	switch fault.Action {
	case Pass:
		p.countForwarded(op)
		p.forward.ServeHTTP(w, out)
	case Throttle:
		writeError(w, http.StatusBadRequest, "ProvisionedThroughputExceededException",
			"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.")
	case Throttling:
		writeError(w, http.StatusBadRequest, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	case InternalError:
		writeError(w, http.StatusInternalServerError, "InternalServerError", "Internal server error")
	case Drop:
		drop(w)
	case DropAfterForward:
		p.countForwarded(op)
		p.forward.ServeHTTP(httptest.NewRecorder(), out)
		drop(w)
	default:
		panic(fmt.Sprintf("faultproxy: unknown action %d", int(fault.Action)))
	}
}

// forwardTimeout bounds a forwarded request, so that a stalled engine cannot hold a proxy goroutine
// forever.
const forwardTimeout = 30 * time.Second

// detached returns r with a context that ignores the client: once forwarded, a request runs to its
// end whether or not the client still waits, as it does in DynamoDB. (It also spares dynalite,
// which crashes when a request is aborted in the middle.)
func detached(r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), forwardTimeout)
	return r.WithContext(ctx), cancel
}

func (p *Proxy) countForwarded(op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forwarded[op]++
}

func (p *Proxy) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// operation extracts the operation from an X-Amz-Target value such as
// "DynamoDB_20120810.UpdateItem".
func operation(target string) string {
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		return target[i+1:]
	}
	return target
}

// writeError answers as DynamoDB does with an error of the given type.
func writeError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", "faultproxy")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":%q}`, errorType, message)
}

// drop closes the client's connection without writing a byte of response.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the response, which also closes the stream unanswered.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
