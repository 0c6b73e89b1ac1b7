package webhook_test

import (
	"fmt"

	"github.com/sms-platform/phone-numbers/pkg/webhook"
)

func ExampleValidate() {
	for _, raw := range []string{
		"https://example.com/sms/inbound",
		"http://example.com/sms/inbound",
		"https://0x7f.1/",
		"https://user:pass@example.com/",
	} {
		if err := webhook.Validate(raw); err != nil {
			fmt.Printf("inbound_url %s\n", err)
			continue
		}
		fmt.Println("ok")
	}
	// Output:
	// ok
	// inbound_url must use https://
	// inbound_url host must be publicly routable
	// inbound_url must not contain user info
}
