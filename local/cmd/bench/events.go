package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// patchEvent returns the HTTP API event of a PATCH of number id's label, as API Gateway sends it.
// An empty secret leaves the Authorization header out: a 401 that needs no storage call.
func patchEvent(secret, id, label string) ([]byte, error) {
	body := `{"label":"` + label + `"}`
	path := "/v1/phone-numbers/" + id
	headers := map[string]string{
		"content-type":   "application/json",
		"content-length": strconv.Itoa(len(body)),
		"host":           "bench.execute-api.us-east-1.amazonaws.com",
	}
	if secret != "" {
		headers["authorization"] = "Bearer " + secret
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "PATCH /v1/phone-numbers/{id}",
		RawPath:        path,
		Headers:        headers,
		PathParameters: map[string]string{"id": id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:  "PATCH /v1/phone-numbers/{id}",
			AccountID: "000000000000",
			Stage:     "$default",
			RequestID: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36),
			APIID:     "bench",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "PATCH", Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
			TimeEpoch: time.Now().UnixMilli(),
		},
		Body: body,
	}
	return json.Marshal(ev)
}

// checkStatus checks that a function's response payload has the wanted status code.
func checkStatus(payload []byte, want int) error {
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return fmt.Errorf("decode response %s: %w", payload, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("the function answered %d, want %d: %s", resp.StatusCode, want, resp.Body)
	}
	return nil
}
