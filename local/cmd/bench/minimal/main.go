// Command minimal is the reference bootstrap of make bench's cold-start and size rows: the least an
// aws-lambda-go function for an HTTP API can be, a handler returning a fixed response. make bench
// builds it with the same flags as the real function, so the difference between the two is what
// the real function adds.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       `{"success":true}`,
	}, nil
}

func main() {
	lambda.Start(handle)
}
