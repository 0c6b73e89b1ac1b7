// Command update-phone-number is the Lambda function behind PATCH /v1/phone-numbers/{id}.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: wiring.ParseLogLevel(os.Getenv("LOG_LEVEL"))}))
	tables, err := dynamostore.TablesFromEnv(os.Getenv)
	if err != nil {
		logger.Error("configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	client, err := dynamostore.NewClient()
	if err != nil {
		logger.Error("dynamodb client", slog.String("error", err.Error()))
		os.Exit(1)
	}
	// The handler decodes the event itself (Invoke), so that even a malformed event gets the
	// contract's envelope instead of a runtime error.
	var handler lambda.Handler = wiring.NewHandler(client, tables, logger)
	lambda.Start(handler)
}
