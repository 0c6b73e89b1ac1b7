// Package wiring wires the update-phone-number handler from its parts. The Lambda binary and the
// local API server both build the handler here, so they run the same code.
package wiring

import (
	"log/slog"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/auth"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// NewHandler returns the handler backed by DynamoDB client db and the given tables.
func NewHandler(db dynamostore.API, tables dynamostore.Tables, logger *slog.Logger, opts ...apigw.Option) *apigw.Handler {
	store := dynamostore.New(db, tables)
	service := phonenumbers.NewService(auth.NewAuthenticator(store), store, store, nil)
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
