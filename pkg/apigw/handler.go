// Package apigw adapts the update-phone-number service to API Gateway HTTP API (payload format
// 2.0) events: it turns an event into a domain request, and every outcome into the contract's JSON
// envelope, headers and status. It writes one structured log line per request.
package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/oklog/ulid/v2"

	"github.com/sms-platform/phone-numbers/pkg/callcount"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// DefaultDeadlineMargin is how long before the invocation deadline the handler gives up on
// storage, so that it still has time to answer 503 itself instead of being killed by the runtime.
const DefaultDeadlineMargin = 500 * time.Millisecond

// Updater is the use case the handler serves.
type Updater interface {
	UpdatePhoneNumber(ctx context.Context, req phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error)
}

var _ Updater = (*phonenumbers.Service)(nil)

// Handler serves PATCH /v1/phone-numbers/{id} events.
type Handler struct {
	updater        Updater
	logger         *slog.Logger
	deadlineMargin time.Duration
	functionName   string
}

// Option configures a Handler.
type Option func(*Handler)

// WithDeadlineMargin sets how long before the context's deadline the handler stops waiting for
// storage.
func WithDeadlineMargin(d time.Duration) Option { return func(h *Handler) { h.deadlineMargin = d } }

// WithFunctionName sets the function name the request metrics are attributed to (see
// metrics.go); by default, the running Lambda function's.
func WithFunctionName(name string) Option { return func(h *Handler) { h.functionName = name } }

// NewHandler returns a handler serving updater and logging to logger.
func NewHandler(updater Updater, logger *slog.Logger, opts ...Option) *Handler {
	h := &Handler{updater: updater, logger: logger, deadlineMargin: DefaultDeadlineMargin,
		functionName: lambdacontext.FunctionName}
	for _, opt := range opts {
		opt(h)
	}
	return h
}

// Invoke serves one invocation as the Lambda runtime delivers it, raw JSON in and out: it is the
// handler lambda.Start runs. It decodes the event itself so that an event the runtime's own
// decoding would refuse (a non-object, invalid JSON, a field of the wrong type such as a body that
// is an object) is still answered in the contract's envelope, as a 400 INVALID_INPUT, with one log
// line; the returned error is always nil, because an error returned to the Lambda runtime becomes
// a bare 502 at API Gateway.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	event, err := decodeEvent(payload)
	return encodeResponse(h.serve(ctx, event, err)), nil
}

// Handle serves one decoded event. Every outcome, expected or not, is a response in the
// contract's envelope, and the returned error is always nil, as for Invoke.
func (h *Handler) Handle(ctx context.Context, event events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return h.serve(ctx, event, nil), nil
}

// msgMalformedEvent answers an event that does not decode. It says nothing of why: the event
// comes from API Gateway's integration, not from the API's client, and the cause is logged.
const msgMalformedEvent = "request could not be read"

// errMalformedEvent marks an invocation payload that is not an HTTP API event.
var errMalformedEvent = errors.New("malformed event")

// decodeEvent decodes an invocation payload as an HTTP API (payload 2.0) event. On failure it
// also returns what it could decode, for the log line.
func decodeEvent(payload []byte) (events.APIGatewayV2HTTPRequest, error) {
	var event events.APIGatewayV2HTTPRequest
	// json.Unmarshal accepts null for a struct, leaving it zero: only an object is an event.
	if start := bytes.TrimLeft(payload, " \t\r\n"); len(start) == 0 || start[0] != '{' {
		return event, fmt.Errorf("%w: not a JSON object", errMalformedEvent)
	}
	if err := json.Unmarshal(payload, &event); err != nil {
		return event, fmt.Errorf("%w: %w", errMalformedEvent, err)
	}
	return event, nil
}

// encodeResponse encodes a response as the Lambda runtime would: JSON without HTML escaping and
// without the encoder's trailing newline. A response holds only strings, numbers, bools and
// string maps and slices, so it always encodes.
func encodeResponse(resp events.APIGatewayV2HTTPResponse) []byte {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		panic("apigw: encode response: " + err.Error())
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

// serve answers one event, or, when eventErr is set, the event that could not be decoded.
func (h *Handler) serve(ctx context.Context, event events.APIGatewayV2HTTPRequest, eventErr error) (resp events.APIGatewayV2HTTPResponse) {
	start := time.Now()
	requestID := ulid.Make().String()
	ctx, calls := callcount.WithCounter(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-h.deadlineMargin))
		defer cancel()
	}

	var result phonenumbers.UpdateResult
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			resp = errorResponse(requestID, err)
		}
		h.logRequest(ctx, event, requestID, resp.StatusCode, result.Principal, err, time.Since(start), calls.Value())
	}()

	if eventErr != nil {
		err = &phonenumbers.Error{Kind: phonenumbers.KindInvalidInput, Message: msgMalformedEvent, Err: eventErr}
		resp = errorResponse(requestID, err)
		return resp
	}
	result, err = h.updater.UpdatePhoneNumber(ctx, NewUpdateRequest(event))
	if err != nil {
		resp = errorResponse(requestID, err)
		return resp
	}
	resp = respond(http.StatusOK, requestID, Envelope{Success: true, Data: NewPhoneNumberJSON(result.PhoneNumber)})
	resp.Headers["ETag"] = etag(result.PhoneNumber.Version)
	return resp
}

// logRequest writes the request's one log line. It logs identifiers, never credentials: the
// Authorization header and the body are not logged at all.
func (h *Handler) logRequest(ctx context.Context, event events.APIGatewayV2HTTPRequest, requestID string, status int, principal *phonenumbers.Principal, err error, took time.Duration, storageCalls int64) {
	attrs := []slog.Attr{
		slog.String("request_id", requestID),
		slog.String("apigw_request_id", event.RequestContext.RequestID),
		slog.Int("status", status),
		slog.Float64(MetricDuration, float64(took.Microseconds())/1000),
		slog.Int64(MetricStorageCalls, storageCalls),
	}
	// Only a well-formed id is logged: the path is caller-controlled text.
	if id, ok := phonenumbers.NormalizeUUID(event.PathParameters["id"]); ok {
		attrs = append(attrs, slog.String("phone_number_id", id))
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, slog.String("lambda_request_id", lc.AwsRequestID))
	}
	if principal != nil {
		attrs = append(attrs, slog.String("org_id", principal.OrgID), slog.String("api_key_id", principal.KeyID))
	}
	level := slog.LevelInfo
	code := OutcomeOK
	if err != nil {
		o, _ := outcomeOf(err)
		code = o.code
		attrs = append(attrs, slog.String("error_code", o.code))
		switch {
		case o.status >= 500:
			level = slog.LevelError
			attrs = append(attrs, slog.String("error", err.Error()))
		case errors.Is(err, phonenumbers.ErrCorruptRecord):
			// Refused without a hint to the client; the operator must repair the record.
			level = slog.LevelError
			attrs = append(attrs, slog.String("error", err.Error()))
		case errors.Is(err, errMalformedEvent):
			// Not the API client's doing: the integration or a direct invocation sent it.
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("error", err.Error()))
		}
	}
	attrs = append(attrs, h.metricAttrs(code, time.Now())...)
	h.logger.LogAttrs(ctx, level, "request", attrs...)
}
