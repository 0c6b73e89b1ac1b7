// Package dynamostore stores API keys, campaigns and phone numbers in DynamoDB. It owns the data
// model: table key schemas, attribute names and the mapping between stored items and domain
// types. Every write is conditional and touches only the attributes that change.
package dynamostore

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Tables names the three tables the store uses.
type Tables struct {
	APIKeys      string
	Campaigns    string
	PhoneNumbers string
}

// The environment variables that name the tables in a deployed function.
const (
	EnvAPIKeysTable      = "API_KEYS_TABLE"
	EnvCampaignsTable    = "CAMPAIGNS_TABLE"
	EnvPhoneNumbersTable = "PHONE_NUMBERS_TABLE"
)

// Partition key attribute of each table. Each table has a partition key only.
const (
	// APIKeysHashKey holds the hex SHA-256 of the secret: keys are found by what callers present,
	// and the secret itself is never stored.
	APIKeysHashKey      = "key_hash"
	CampaignsHashKey    = "id"
	PhoneNumbersHashKey = "id"
)

// Attribute names: the one listing of how items are stored. Items are encoded and decoded by hand
// with these names (items.go), and expressions use them as placeholders (expressions.go).
const (
	// Shared by the three tables' items.
	attrID        = "id"
	attrOrgID     = "org_id"
	attrCreatedAt = "created_at"

	// API keys (the key itself is APIKeysHashKey).
	attrScopes    = "scopes"
	attrPrefix    = "prefix"
	attrLabel     = "label"
	attrRevokedAt = "revoked_at"

	// Campaigns.
	attrStatus = "status"

	// Phone numbers (attrLabel too).
	attrNumber                        = "number"
	attrNumberType                    = "number_type"
	attrInboundURL                    = "inbound_url"
	attrStatusURL                     = "status_url"
	attrCampaignID                    = "campaign_id"
	attrCarrierLineOptionStatus       = "carrier_line_option_status"
	attrCarrierLineOptionPropagatedAt = "carrier_line_option_propagated_at"
	attrSMSEnabled                    = "sms_enabled"
	attrMMSEnabled                    = "mms_enabled"
	attrUpdatedAt                     = "updated_at"
	// attrVersion counts the writes that changed the number (absent: 0); it is the ETag.
	attrVersion = "version"
	// attrWriteID holds a random id of the write that last changed the number, so that a write
	// retried after its first attempt was applied recognises its own change.
	attrWriteID = "write_id"
)

// CreateTableInputs returns the definition of each table as the store expects it: the one place
// that states key schemas, used by local tooling and tests to create tables, and checked against
// template.yaml by the template test.
func CreateTableInputs(t Tables) []*dynamodb.CreateTableInput {
	table := func(name, hashKey string) *dynamodb.CreateTableInput {
		return &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(hashKey), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(hashKey), KeyType: types.KeyTypeHash}},
		}
	}
	return []*dynamodb.CreateTableInput{
		table(t.APIKeys, APIKeysHashKey),
		table(t.Campaigns, CampaignsHashKey),
		table(t.PhoneNumbers, PhoneNumbersHashKey),
	}
}
