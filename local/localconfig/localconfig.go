// Package localconfig holds the settings the local tools share (make run, make seed, make invoke,
// make bench and the tests): the local table names and the deployed function's timeout. It is
// local tooling only; the function never links it.
package localconfig

import (
	"time"

	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// FunctionTimeout is the deployed function's timeout (template.yaml, Globals.Function.Timeout).
// The local server gives each request the same deadline, so local behaviour near the deadline
// matches the deployed function; the template test keeps the two equal.
const FunctionTimeout = 6 * time.Second

// Tables names the tables of the local stack. make run and make seed both use it, so that data
// seeded into a running stack lands where the local API reads.
var Tables = dynamostore.Tables{
	APIKeys:      "api-keys",
	Campaigns:    "campaigns",
	PhoneNumbers: "phone-numbers",
}

// TablesFromEnv returns Tables with each name replaced by its environment variable (the ones a
// deployed function reads, see dynamostore.EnvAPIKeysTable) when set, read through getenv
// (os.Getenv outside tests): the same variables then point the function and the seed at the same
// tables.
func TablesFromEnv(getenv func(string) string) dynamostore.Tables {
	pick := func(env, fallback string) string {
		if v := getenv(env); v != "" {
			return v
		}
		return fallback
	}
	return dynamostore.Tables{
		APIKeys:      pick(dynamostore.EnvAPIKeysTable, Tables.APIKeys),
		Campaigns:    pick(dynamostore.EnvCampaignsTable, Tables.Campaigns),
		PhoneNumbers: pick(dynamostore.EnvPhoneNumbersTable, Tables.PhoneNumbers),
	}
}
