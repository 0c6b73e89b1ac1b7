// Package plain is the bench's reference for a PATCH: the two DynamoDB calls the request needs,
// the consistent GetItem of the API key and the conditional UpdateItem of the number, written
// with plain expressions, and the least handler that makes them. The end-to-end floor calls them
// directly, the minimal bootstrap (../minimal) and the full-path reference benchmark run the
// handler, so every comparison in make bench is against the same calls.
//
// It must stay small: whatever it links or initializes is counted on the reference side. That is
// why it reads its environment variables by name instead of importing the store.
package plain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The two expressions of a label update without If-Match, whole, as the floor sends them: the
// store's write (pkg/dynamostore/expressions.go) for that patch, so that both sides write the
// same attributes under the same condition (TestPlainWritesWhatTheStoreWrites compares them).
// SET of updated_at, the version (absent reads as 0), the write's id and the label, on condition
// that the number exists, belongs to the caller's organization, has the stored types the function
// reads (storedTypes) and has another label. No nested brackets beyond the store's.
const (
	UpdateExpression    = "SET #updated_at = :now, #version = if_not_exists(#version, :zero) + :one, #write_id = :write_id, #label = :label"
	ConditionExpression = "attribute_exists(#id) AND #org_id = :org_id" + storedTypes + " AND (attribute_not_exists(#label) OR #label <> :label)"
)

// storedTypes is the store's condition on the types of a number's attributes, which refuses a
// write to a corrupt item. It costs the local dynalite milliseconds of parsing, so the floor
// pays it too: without it, the ratio would count dynalite's parser as our cost.
const storedTypes = " AND #number_type IN (:local, :toll_free, :short_code) AND attribute_type(#number, :s)" +
	" AND (attribute_not_exists(#inbound_url) OR attribute_type(#inbound_url, :s) OR attribute_type(#inbound_url, :null))" +
	" AND (attribute_not_exists(#status_url) OR attribute_type(#status_url, :s) OR attribute_type(#status_url, :null))" +
	" AND (attribute_not_exists(#label) OR attribute_type(#label, :s) OR attribute_type(#label, :null))" +
	" AND (attribute_not_exists(#campaign_id) OR attribute_type(#campaign_id, :s) OR attribute_type(#campaign_id, :null))" +
	" AND (attribute_not_exists(#carrier_line_option_status) OR attribute_type(#carrier_line_option_status, :s)" +
	" OR attribute_type(#carrier_line_option_status, :null))" +
	" AND (attribute_not_exists(#carrier_line_option_propagated_at) OR attribute_type(#carrier_line_option_propagated_at, :null)" +
	" OR attribute_type(#carrier_line_option_propagated_at, :s) AND #carrier_line_option_propagated_at BETWEEN :time_min AND :time_max)" +
	" AND (attribute_type(#sms_enabled, :bool) OR #sms_enabled = :false AND NOT attribute_type(#sms_enabled, :n))" +
	" AND (attribute_type(#mms_enabled, :bool) OR #mms_enabled = :false AND NOT attribute_type(#mms_enabled, :n))" +
	" AND attribute_type(#created_at, :s) AND #created_at BETWEEN :time_min AND :time_max" +
	" AND attribute_type(#updated_at, :s) AND #updated_at BETWEEN :time_min AND :time_max" +
	" AND (attribute_not_exists(#version) OR attribute_type(#version, :n) AND #version BETWEEN :zero AND :version_max)"

// expressionNames are the placeholders of UpdateExpression and ConditionExpression.
var expressionNames = map[string]string{
	"#id": "id", "#org_id": "org_id", "#number": "number", "#number_type": "number_type",
	"#inbound_url": "inbound_url", "#status_url": "status_url", "#label": "label", "#campaign_id": "campaign_id",
	"#carrier_line_option_status": "carrier_line_option_status", "#carrier_line_option_propagated_at": "carrier_line_option_propagated_at",
	"#sms_enabled": "sms_enabled", "#mms_enabled": "mms_enabled",
	"#created_at": "created_at", "#updated_at": "updated_at", "#version": "version", "#write_id": "write_id",
}

// s is a string attribute value.
func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// constantValues are the values of the expressions that do not vary from request to request.
var constantValues = map[string]types.AttributeValue{
	":zero": &types.AttributeValueMemberN{Value: "0"}, ":one": &types.AttributeValueMemberN{Value: "1"},
	":s": s("S"), ":n": s("N"), ":null": s("NULL"), ":bool": s("BOOL"), ":false": &types.AttributeValueMemberBOOL{Value: false},
	":local": s("local"), ":toll_free": s("toll_free"), ":short_code": s("short_code"),
	":time_min": s("0000-01-01T00:00:00Z"), ":time_max": s("9999-12-31T23:59:59Z"),
	":version_max": &types.AttributeValueMemberN{Value: "9223372036854775807"},
}

// The environment variables the deployed function reads its table names from (the store's
// EnvAPIKeysTable and EnvPhoneNumbersTable; bench_test.go checks they agree).
const (
	EnvAPIKeysTable      = "API_KEYS_TABLE"
	EnvPhoneNumbersTable = "PHONE_NUMBERS_TABLE"
)

// ErrNoKey is KeyOrg's error for a hash no key is stored under.
var ErrNoKey = errors.New("no api key with that hash")

// API is the part of the DynamoDB client the reference calls.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// KeyOrg reads the API key stored under keyHash, strongly consistent as the store reads it, and
// returns its organization.
func KeyOrg(ctx context.Context, db API, table, keyHash string) (string, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"key_hash": &types.AttributeValueMemberS{Value: keyHash}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", fmt.Errorf("get api key: %w", err)
	}
	org, ok := out.Item["org_id"].(*types.AttributeValueMemberS)
	if !ok {
		return "", ErrNoKey
	}
	return org.Value, nil
}

// UpdateLabel sets the label of number id of organization orgID, updated_at to now, and counts
// the version up, in one conditional UpdateItem, and returns the item as written.
func UpdateLabel(ctx context.Context, db API, table, id, orgID, label string, now time.Time) (map[string]types.AttributeValue, error) {
	out, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(table),
		Key:                                 map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:                    aws.String(UpdateExpression),
		ConditionExpression:                 aws.String(ConditionExpression),
		ExpressionAttributeNames:            expressionNames,
		ExpressionAttributeValues:           updateValues(orgID, label, now),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return nil, fmt.Errorf("update phone number %s: %w", id, err)
	}
	return out.Attributes, nil
}

// updateValues returns the values of one label update: the constant ones and the request's.
func updateValues(orgID, label string, now time.Time) map[string]types.AttributeValue {
	values := make(map[string]types.AttributeValue, len(constantValues)+4)
	maps.Copy(values, constantValues)
	values[":now"] = s(now.UTC().Format(time.RFC3339))
	values[":write_id"] = s(rand.Text())
	values[":label"] = s(label)
	values[":org_id"] = s(orgID)
	return values
}

// HashSecret returns the hex SHA-256 of a secret, the key the api-keys table stores it under.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewClientFromEnv returns a DynamoDB client for the Lambda environment: region, static
// credentials and the endpoint override from the standard variables, everything else the SDK's
// defaults; optFns are applied last. It is the least a function can build.
func NewClientFromEnv(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	opts := dynamodb.Options{
		Region: os.Getenv("AWS_REGION"),
		Credentials: credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")),
	}
	if endpoint := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	return dynamodb.New(opts, optFns...)
}

// Handler is the minimal PATCH handler: Bearer secret, the key's organization, the label from
// the body, the update, and a small JSON answer. It checks nothing else: it is the floor that
// the real handler is compared with, not an implementation of the contract.
type Handler struct {
	DB                         API
	APIKeysTable, NumbersTable string
}

// NewHandlerFromEnv returns a Handler with a client (see NewClientFromEnv) and table names from
// the environment.
func NewHandlerFromEnv(optFns ...func(*dynamodb.Options)) *Handler {
	return &Handler{DB: NewClientFromEnv(optFns...), APIKeysTable: os.Getenv(EnvAPIKeysTable), NumbersTable: os.Getenv(EnvPhoneNumbersTable)}
}

// Handle answers one HTTP API event: 401 without a Bearer secret (no storage call) or for an
// unknown key, 200 with the number's id and new label after the update, 500 for anything else.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	secret, ok := strings.CutPrefix(ev.Headers["authorization"], "Bearer ")
	if !ok || secret == "" {
		return respond(401, `{"success":false,"error":{"code":"UNAUTHORIZED"}}`), nil
	}
	orgID, err := KeyOrg(ctx, h.DB, h.APIKeysTable, HashSecret(secret))
	if errors.Is(err, ErrNoKey) {
		return respond(401, `{"success":false,"error":{"code":"UNAUTHORIZED"}}`), nil
	}
	if err != nil {
		return respond(500, `{"success":false,"error":{"code":"INTERNAL"}}`), nil
	}
	var body struct {
		Label string `json:"label"`
	}
	if err := json.Unmarshal([]byte(ev.Body), &body); err != nil {
		return respond(400, `{"success":false,"error":{"code":"BAD_REQUEST"}}`), nil
	}
	id := ev.PathParameters["id"]
	item, err := UpdateLabel(ctx, h.DB, h.NumbersTable, id, orgID, body.Label, time.Now())
	if err != nil {
		return respond(500, `{"success":false,"error":{"code":"INTERNAL"}}`), nil
	}
	label, _ := item["label"].(*types.AttributeValueMemberS)
	if label == nil {
		return respond(500, `{"success":false,"error":{"code":"INTERNAL"}}`), nil
	}
	answer, _ := json.Marshal(struct {
		Success bool              `json:"success"`
		Data    map[string]string `json:"data"`
	}{true, map[string]string{"id": id, "label": label.Value}})
	return respond(200, string(answer)), nil
}

func respond(status int, body string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
}
