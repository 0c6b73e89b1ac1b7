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
// same attributes under the same condition. SET of updated_at, the version (absent reads as 0),
// the write's id and the label, on condition that the number exists, belongs to the caller's
// organization and has another label. One placeholder per attribute, no nested brackets.
const (
	UpdateExpression    = "SET #updated_at = :now, #version = if_not_exists(#version, :zero) + :one, #write_id = :write_id, #label = :label"
	ConditionExpression = "attribute_exists(#id) AND #org_id = :org_id AND (attribute_not_exists(#label) OR #label <> :label)"
)

// expressionNames are the placeholders of UpdateExpression and ConditionExpression.
var expressionNames = map[string]string{
	"#id": "id", "#org_id": "org_id", "#updated_at": "updated_at", "#version": "version", "#write_id": "write_id", "#label": "label",
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
		TableName:                aws.String(table),
		Key:                      map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:         aws.String(UpdateExpression),
		ConditionExpression:      aws.String(ConditionExpression),
		ExpressionAttributeNames: expressionNames,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":      &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339)},
			":zero":     &types.AttributeValueMemberN{Value: "0"},
			":one":      &types.AttributeValueMemberN{Value: "1"},
			":write_id": &types.AttributeValueMemberS{Value: rand.Text()},
			":label":    &types.AttributeValueMemberS{Value: label},
			":org_id":   &types.AttributeValueMemberS{Value: orgID},
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return nil, fmt.Errorf("update phone number %s: %w", id, err)
	}
	return out.Attributes, nil
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
