// Package wiring builds the update-phone-number handler from its parts: the DynamoDB client
// wrapped to count storage calls, the store, the service and the API Gateway adapter. The Lambda
// binary and the local API server both build the handler here, so they run the same code.
package wiring

import (
	"log/slog"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/callcount"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// The store serves each of the domain's storage interfaces.
var (
	_ phonenumbers.APIKeyFinder       = (*dynamostore.Store)(nil)
	_ phonenumbers.CampaignFinder     = (*dynamostore.Store)(nil)
	_ phonenumbers.PhoneNumberUpdater = (*dynamostore.Store)(nil)
)

// NewHandler returns the handler backed by DynamoDB client db and the given tables. Every call
// the store makes through db is counted for the request's log line.
func NewHandler(db dynamostore.API, tables dynamostore.Tables, logger *slog.Logger, opts ...apigw.Option) *apigw.Handler {
	store := dynamostore.New(callcount.NewDynamoDB(db), tables)
	service := phonenumbers.NewService(store, store, store, nil)
	return apigw.NewHandler(service, logger, opts...)
}

// ParseLogLevel reads a level name such as "INFO" or "debug"; anything unreadable is INFO.
func ParseLogLevel(name string) slog.Level {
	var level slog.Level
	if err := level.UnmarshalText([]byte(name)); err != nil {
		return slog.LevelInfo
	}
	return level
}
