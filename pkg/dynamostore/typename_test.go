package dynamostore

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestTypeNameIsDynamoDBs(t *testing.T) {
	t.Parallel()
	for want, v := range map[string]types.AttributeValue{
		"S": &types.AttributeValueMemberS{}, "N": &types.AttributeValueMemberN{}, "B": &types.AttributeValueMemberB{},
		"BOOL": &types.AttributeValueMemberBOOL{}, "NULL": &types.AttributeValueMemberNULL{},
		"SS": &types.AttributeValueMemberSS{}, "NS": &types.AttributeValueMemberNS{}, "BS": &types.AttributeValueMemberBS{},
		"L": &types.AttributeValueMemberL{}, "M": &types.AttributeValueMemberM{},
		"*types.UnknownUnionMember": &types.UnknownUnionMember{},
	} {
		if got := typeName(v); got != want {
			t.Errorf("typeName(%T) = %q, want %q", v, got, want)
		}
	}
}
