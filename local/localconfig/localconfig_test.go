package localconfig_test

import (
	"testing"

	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

func TestTablesFromEnv(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want dynamostore.Tables
	}{
		{"uses the local names without variables", nil, localconfig.Tables},
		{"uses each variable that is set", map[string]string{dynamostore.EnvCampaignsTable: "c-test"},
			dynamostore.Tables{APIKeys: "api-keys", Campaigns: "c-test", PhoneNumbers: "phone-numbers"}},
		{"ignores empty variables", map[string]string{dynamostore.EnvAPIKeysTable: ""}, localconfig.Tables},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := localconfig.TablesFromEnv(func(k string) string { return tc.env[k] }); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
