// Command minimal is the reference bootstrap of make bench's cold-start, size and memory rows: the
// least an aws-lambda-go function can be that does the same DynamoDB work as a PATCH of a label
// (plain.Handler: the key's GetItem and the number's UpdateItem, with plain expressions). make
// bench builds it with the same flags as the real function and runs it under the same emulator
// against the same engine and items, so the difference between the two is what the real function
// adds: its start-up, its checks and its code, not the storage calls both make.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sms-platform/phone-numbers/local/cmd/bench/plain"
)

func main() {
	lambda.Start(plain.NewHandlerFromEnv().Handle)
}
