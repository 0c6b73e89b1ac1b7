package callcount_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/pkg/callcount"
)

// recordingClient answers every call with a fixed error and records the table each call named.
type recordingClient struct {
	err    error
	tables []string
}

func (c *recordingClient) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.tables = append(c.tables, aws.ToString(in.TableName))
	return &dynamodb.GetItemOutput{}, c.err
}

func (c *recordingClient) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.tables = append(c.tables, aws.ToString(in.TableName))
	return &dynamodb.UpdateItemOutput{}, c.err
}

func (c *recordingClient) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, item := range in.TransactItems {
		if item.Update != nil {
			c.tables = append(c.tables, aws.ToString(item.Update.TableName))
		}
	}
	return &dynamodb.TransactWriteItemsOutput{}, c.err
}

func TestDynamoDBCountsEachCallAndPassesItOn(t *testing.T) {
	t.Parallel()
	failure := errors.New("throttled")
	client := &recordingClient{err: failure}
	db := callcount.NewDynamoDB(client)
	ctx, counter := callcount.WithCounter(context.Background())

	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("keys")}); !errors.Is(err, failure) {
		t.Errorf("GetItem: got error %v, want the client's %v", err, failure)
	}
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("numbers")}); !errors.Is(err, failure) {
		t.Errorf("UpdateItem: got error %v, want the client's %v", err, failure)
	}
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("numbers")}); !errors.Is(err, failure) {
		t.Errorf("GetItem: got error %v, want the client's %v", err, failure)
	}
	transaction := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: &types.Update{TableName: aws.String("attached")}}}}
	if _, err := db.TransactWriteItems(ctx, transaction); !errors.Is(err, failure) {
		t.Errorf("TransactWriteItems: got error %v, want the client's %v", err, failure)
	}

	if got := counter.Value(); got != 4 {
		t.Errorf("got %d calls counted, want 4", got)
	}
	if want := []string{"keys", "numbers", "numbers", "attached"}; !slices.Equal(client.tables, want) {
		t.Errorf("client got calls on %q, want %q", client.tables, want)
	}
}

func TestDynamoDBCountsNothingWithoutACounter(t *testing.T) {
	t.Parallel()
	client := &recordingClient{}
	db := callcount.NewDynamoDB(client)
	_, counter := callcount.WithCounter(context.Background())

	// A context without a counter (such as a seed or a test) is served and counted nowhere.
	if _, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("keys")}); err != nil {
		t.Fatalf("GetItem: got error %v, want none", err)
	}
	if got := counter.Value(); got != 0 {
		t.Errorf("got %d calls counted on an unrelated counter, want 0", got)
	}
	if len(client.tables) != 1 {
		t.Errorf("client got %d calls, want 1", len(client.tables))
	}
}
