package dynaliteshim_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// transactCase is one TransactWriteItems request, the items stored before it, and what every
// engine must answer and leave behind.
type transactCase struct {
	name      string
	campaigns []item
	numbers   []item
	items     func(dynamostore.Tables) []types.TransactWriteItem
	// wantCodes are the cancellation reasons' codes; nil when the transaction succeeds.
	wantCodes []string
	// wantOld are the old items the reasons carry, one per reason (nil: none).
	wantOld []item
	// wantValidation is the message of the ValidationException the request gets, if any.
	wantValidation string
	// wantCampaigns and wantNumbers are the items afterwards by id; nil means no such item.
	wantCampaigns map[string]item
	wantNumbers   map[string]item
}

func TestTransactWriteItems(t *testing.T) {
	t.Parallel()
	active := campaign(campaignActive, orgA, "ACTIVE")
	expired := campaign(campaignExpired, orgA, "EXPIRED")
	other := campaign(campaignOther, orgB, "ACTIVE")
	mine := number(numberA, orgA)
	foreign := number(numberB, orgB)

	cases := []transactCase{
		{
			name:      "an active campaign of the organization is attached",
			campaigns: []item{active},
			numbers:   []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{checkActive(tb, campaignActive, orgA, false), attach(tb, numberA, orgA, campaignActive, false)}
			},
			wantCampaigns: map[string]item{campaignActive: active},
			wantNumbers:   map[string]item{numberA: with(mine, "campaign_id", campaignActive)},
		},
		{
			name:      "an expired campaign cancels and nothing is written",
			campaigns: []item{expired},
			numbers:   []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{checkActive(tb, campaignExpired, orgA, false), attach(tb, numberA, orgA, campaignExpired, false)}
			},
			wantCodes:     []string{"ConditionalCheckFailed", "None"},
			wantCampaigns: map[string]item{campaignExpired: expired},
			wantNumbers:   map[string]item{numberA: mine},
		},
		{
			name:    "a missing campaign cancels and the check creates no campaign",
			numbers: []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{checkActive(tb, campaignMissing, orgA, true), attach(tb, numberA, orgA, campaignMissing, false)}
			},
			wantCodes:     []string{"ConditionalCheckFailed", "None"},
			wantOld:       []item{nil, nil},
			wantCampaigns: map[string]item{campaignMissing: nil},
			wantNumbers:   map[string]item{numberA: mine},
		},
		{
			name:      "a campaign of another organization cancels",
			campaigns: []item{other},
			numbers:   []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{checkActive(tb, campaignOther, orgA, false), attach(tb, numberA, orgA, campaignOther, false)}
			},
			wantCodes:     []string{"ConditionalCheckFailed", "None"},
			wantCampaigns: map[string]item{campaignOther: other},
			wantNumbers:   map[string]item{numberA: mine},
		},
		{
			name:      "the write's own condition failing cancels: a number of another organization",
			campaigns: []item{active},
			numbers:   []item{foreign},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{checkActive(tb, campaignActive, orgA, false), attach(tb, numberB, orgA, campaignActive, false)}
			},
			wantCodes:     []string{"None", "ConditionalCheckFailed"},
			wantCampaigns: map[string]item{campaignActive: active},
			wantNumbers:   map[string]item{numberB: foreign},
		},
		{
			name:      "the write's own condition failing cancels: a missing number is not created",
			campaigns: []item{active},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{checkActive(tb, campaignActive, orgA, false), attach(tb, numberMissing, orgA, campaignActive, true)}
			},
			wantCodes:     []string{"None", "ConditionalCheckFailed"},
			wantOld:       []item{nil, nil},
			wantCampaigns: map[string]item{campaignActive: active},
			wantNumbers:   map[string]item{numberMissing: nil},
		},
		{
			name:      "every failing item is a reason, each with its old item when asked",
			campaigns: []item{expired},
			numbers:   []item{foreign},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{checkActive(tb, campaignExpired, orgA, true), attach(tb, numberB, orgA, campaignExpired, true)}
			},
			wantCodes:     []string{"ConditionalCheckFailed", "ConditionalCheckFailed"},
			wantOld:       []item{expired, foreign},
			wantCampaigns: map[string]item{campaignExpired: expired},
			wantNumbers:   map[string]item{numberB: foreign},
		},
		{
			name:      "only failing items carry old items",
			campaigns: []item{expired},
			numbers:   []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{checkActive(tb, campaignExpired, orgA, true), attach(tb, numberA, orgA, campaignExpired, true)}
			},
			wantCodes:     []string{"ConditionalCheckFailed", "None"},
			wantOld:       []item{expired, nil},
			wantCampaigns: map[string]item{campaignExpired: expired},
			wantNumbers:   map[string]item{numberA: mine},
		},
		{
			name:      "a write listed before a failing check is not applied",
			campaigns: []item{expired},
			numbers:   []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{attach(tb, numberA, orgA, campaignExpired, false), checkActive(tb, campaignExpired, orgA, false)}
			},
			wantCodes:     []string{"None", "ConditionalCheckFailed"},
			wantCampaigns: map[string]item{campaignExpired: expired},
			wantNumbers:   map[string]item{numberA: mine},
		},
		{
			name:    "a check that holds on a missing item leaves it missing",
			numbers: []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{
					{ConditionCheck: &types.ConditionCheck{
						TableName:                aws.String(tb.Campaigns),
						Key:                      key(campaignMissing),
						ConditionExpression:      aws.String("attribute_not_exists(#id)"),
						ExpressionAttributeNames: map[string]string{"#id": "id"},
					}},
					attach(tb, numberA, orgA, campaignMissing, false),
				}
			},
			wantCampaigns: map[string]item{campaignMissing: nil},
			wantNumbers:   map[string]item{numberA: with(mine, "campaign_id", campaignMissing)},
		},
		{
			name:    "a put and a delete apply together",
			numbers: []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{
					{Put: &types.Put{
						TableName:                aws.String(tb.PhoneNumbers),
						Item:                     number(numberB, orgA),
						ConditionExpression:      aws.String("attribute_not_exists(#id)"),
						ExpressionAttributeNames: map[string]string{"#id": "id"},
					}},
					{Delete: &types.Delete{
						TableName:                 aws.String(tb.PhoneNumbers),
						Key:                       key(numberA),
						ConditionExpression:       aws.String("#org = :org"),
						ExpressionAttributeNames:  map[string]string{"#org": "org_id"},
						ExpressionAttributeValues: item{":org": str(orgA)},
					}},
				}
			},
			wantNumbers: map[string]item{numberA: nil, numberB: number(numberB, orgA)},
		},
		{
			name:    "a put whose condition fails cancels the update before it",
			numbers: []item{mine, foreign},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{
					attach(tb, numberA, orgA, campaignActive, false),
					{Put: &types.Put{
						TableName:                           aws.String(tb.PhoneNumbers),
						Item:                                number(numberB, orgA),
						ConditionExpression:                 aws.String("attribute_not_exists(#id)"),
						ExpressionAttributeNames:            map[string]string{"#id": "id"},
						ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
					}},
				}
			},
			wantCodes:   []string{"None", "ConditionalCheckFailed"},
			wantOld:     []item{nil, foreign},
			wantNumbers: map[string]item{numberA: mine, numberB: foreign},
		},
		{
			name:      "two operations on one item are refused",
			campaigns: []item{active},
			numbers:   []item{mine},
			items: func(tb dynamostore.Tables) []types.TransactWriteItem {
				return []types.TransactWriteItem{
					attach(tb, numberA, orgA, campaignActive, false),
					{ConditionCheck: &types.ConditionCheck{
						TableName:                aws.String(tb.PhoneNumbers),
						Key:                      key(numberA),
						ConditionExpression:      aws.String("attribute_exists(#id)"),
						ExpressionAttributeNames: map[string]string{"#id": "id"},
					}},
				}
			},
			wantValidation: "Transaction request cannot include multiple operations on one item",
			wantNumbers:    map[string]item{numberA: mine},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			acrossEngines(t, func(t *testing.T, run *engineRun) {
				tables, client := run.tables, run.client
				for _, c := range tc.campaigns {
					put(t, client, tables.Campaigns, c)
				}
				for _, n := range tc.numbers {
					put(t, client, tables.PhoneNumbers, n)
				}
				_, err := client.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: tc.items(tables)})
				// Failures are compared member for member. On success moto adds an empty
				// ConsumedCapacity and ItemCollectionMetrics that DynamoDB sends only when asked
				// for (the shim follows DynamoDB: {}), and the SDK decodes both alike. Validation
				// errors differ in their __type's namespace only.
				if tc.wantCodes != nil {
					run.keepAnswer(t)
				}
				checkTransactResult(t, tc, err)
				for id, want := range tc.wantCampaigns {
					if got := get(t, client, tables.Campaigns, id); !sameItem(t, got, want) {
						t.Errorf("campaign %s afterwards = %v, want %v", id, plain(t, got), plain(t, want))
					}
				}
				for id, want := range tc.wantNumbers {
					if got := get(t, client, tables.PhoneNumbers, id); !sameItem(t, got, want) {
						t.Errorf("number %s afterwards = %v, want %v", id, plain(t, got), plain(t, want))
					}
				}
			})
		})
	}
}

// checkTransactResult fails t unless err is what tc expects.
func checkTransactResult(t *testing.T, tc transactCase, err error) {
	t.Helper()
	if tc.wantValidation != "" {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" || apiErr.ErrorMessage() != tc.wantValidation {
			t.Fatalf("TransactWriteItems error = %v, want ValidationException %q", err, tc.wantValidation)
		}
		return
	}
	if tc.wantCodes == nil {
		if err != nil {
			t.Fatalf("TransactWriteItems: %v, want success", err)
		}
		return
	}
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		t.Fatalf("TransactWriteItems error = %v, want a TransactionCanceledException", err)
	}
	var codes []string
	for _, r := range canceled.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	if !slices.Equal(codes, tc.wantCodes) {
		t.Errorf("cancellation codes = %v, want %v", codes, tc.wantCodes)
	}
	wantMessage := "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(tc.wantCodes, ", ") + "]"
	if canceled.ErrorMessage() != wantMessage {
		t.Errorf("message = %q, want %q", canceled.ErrorMessage(), wantMessage)
	}
	for i, r := range canceled.CancellationReasons {
		if i >= len(tc.wantOld) {
			if r.Item != nil {
				t.Errorf("reason %d carries item %v, want none", i, plain(t, r.Item))
			}
			continue
		}
		if want := tc.wantOld[i]; !sameItem(t, r.Item, want) {
			t.Errorf("reason %d item = %v, want %v", i, plain(t, r.Item), plain(t, want))
		}
	}
}
