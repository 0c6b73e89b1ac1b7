// Package localapi serves a Lambda handler of API Gateway HTTP API (payload 2.0) events over plain
// HTTP, translating each request into the event API Gateway would send and the handler's response
// back, the way API Gateway does. It hands the handler the event as JSON bytes, as the Lambda
// runtime does, so make run and the integration tests exercise the exact handler the Lambda runs,
// its own decoding of the event included.
package localapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"
)

// RouteKey is the one route the API serves.
const RouteKey = "PATCH /v1/phone-numbers/{id}"

// MaxPayloadBytes is API Gateway's own request payload limit; larger requests never reach the
// function.
const MaxPayloadBytes = 10 << 20

// Invoker is a Lambda handler as the runtime calls it (the lambda.Handler interface): the event
// as JSON in, the response as JSON out.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Server adapts an Invoker of HTTP API events to net/http.
type Server struct {
	handler Invoker
	timeout time.Duration
}

// New returns a server invoking handler with a deadline of timeout per request.
func New(handler Invoker, timeout time.Duration) *Server {
	return &Server{handler: handler, timeout: timeout}
}

const routePrefix = "/v1/phone-numbers/"

// ServeHTTP routes PATCH /v1/phone-numbers/{id} to the handler and answers anything else as API
// Gateway does for a route it does not have.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.EscapedPath(), routePrefix)
	if r.Method != http.MethodPatch || !ok || id == "" || strings.Contains(id, "/") {
		writeGatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err != nil {
		writeGatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxPayloadBytes {
		writeGatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	if unescaped, err := url.PathUnescape(id); err == nil {
		id = unescaped
	}
	payload, err := json.Marshal(NewEvent(r, id, body))
	if err != nil {
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()
	out, err := s.handler.Invoke(ctx, payload)
	var resp events.APIGatewayV2HTTPResponse
	if err == nil {
		err = json.Unmarshal(out, &resp)
	}
	if err != nil {
		// What API Gateway answers when the function returns an error or a response it cannot
		// read.
		writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeResponse(w, resp)
}

// NewEvent builds the HTTP API v2 event API Gateway would send for r, whose id path parameter is
// id and whose body was already read.
func NewEvent(r *http.Request, id string, body []byte) events.APIGatewayV2HTTPRequest {
	now := time.Now().UTC()
	headers := make(map[string]string, len(r.Header)+1)
	for name, values := range r.Header {
		if strings.EqualFold(name, "Cookie") {
			continue
		}
		// API Gateway lower-cases names and joins repeated headers with commas.
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	event := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       RouteKey,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Cookies:        cookies(r),
		Headers:        headers,
		PathParameters: map[string]string{"id": id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     RouteKey,
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    ulid.Make().String(),
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: "local",
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r.RemoteAddr),
				UserAgent: r.UserAgent(),
			},
		},
	}
	if query := r.URL.Query(); len(query) > 0 {
		event.QueryStringParameters = make(map[string]string, len(query))
		for k, v := range query {
			event.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	// API Gateway passes text through and base64-encodes anything else.
	if utf8.Valid(body) {
		event.Body = string(body)
	} else {
		event.Body = base64.StdEncoding.EncodeToString(body)
		event.IsBase64Encoded = true
	}
	return event
}

func cookies(r *http.Request) []string {
	var out []string
	for _, c := range r.Cookies() {
		out = append(out, c.Name+"="+c.Value)
	}
	return out
}

func sourceIP(remoteAddr string) string {
	if i := strings.LastIndexByte(remoteAddr, ':'); i >= 0 {
		return strings.Trim(remoteAddr[:i], "[]")
	}
	return remoteAddr
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for name, value := range resp.Headers {
		w.Header().Set(name, value)
	}
	for name, values := range resp.MultiValueHeaders {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			writeGatewayError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		body = decoded
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeGatewayError answers the way API Gateway itself does, before or instead of the function.
func writeGatewayError(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(map[string]string{"message": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
