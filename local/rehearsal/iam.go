package rehearsal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// moto runs IAM policies only for actions, not for the resources they apply to, so it would let
// a function call any table. The rehearsal does what AWS does instead: the function reaches
// DynamoDB through iamProxy, which evaluates every call against the policies of the function's
// role as the stack created them, answers AccessDeniedException to what they do not allow, and
// records each call for the report.

// statement is one statement of an identity-based policy.
type statement struct {
	Sid       string
	Effect    string
	Action    []string
	NotAction []string
	Resource  []string
	// Conditional statements are never treated as matching: the rehearsal cannot evaluate their
	// conditions, and a rule that only sometimes applies must not pass for one that always does.
	Conditional bool
}

// parsePolicy reads a policy document's statements.
func parsePolicy(document string) ([]statement, error) {
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(document), &doc); err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(doc.Statement, &raw); err != nil {
		var one map[string]any
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return nil, fmt.Errorf("read policy statements: %w", err)
		}
		raw = []map[string]any{one}
	}
	statements := make([]statement, 0, len(raw))
	for _, s := range raw {
		sid, _ := s["Sid"].(string)
		effect, _ := s["Effect"].(string)
		_, conditional := s["Condition"]
		_, notResource := s["NotResource"]
		if notResource {
			return nil, fmt.Errorf("statement %q uses NotResource, which the rehearsal does not evaluate", sid)
		}
		statements = append(statements, statement{
			Sid: sid, Effect: effect, Conditional: conditional,
			Action: stringList(s["Action"]), NotAction: stringList(s["NotAction"]), Resource: stringList(s["Resource"]),
		})
	}
	return statements, nil
}

func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// evaluate decides action on resource as IAM does for identity-based policies: an explicit deny
// wins, else any allow, else an implicit deny. It returns the deciding statement's Sid (or its
// index).
func evaluate(statements []statement, action, resource string) (allowed bool, by string) {
	matches := func(s statement) bool {
		actionMatches := slices.ContainsFunc(s.Action, func(p string) bool { return wildcard(p, action, true) })
		if len(s.NotAction) > 0 {
			actionMatches = !slices.ContainsFunc(s.NotAction, func(p string) bool { return wildcard(p, action, true) })
		}
		return actionMatches && slices.ContainsFunc(s.Resource, func(p string) bool { return wildcard(p, resource, false) })
	}
	name := func(i int, s statement) string {
		if s.Sid != "" {
			return s.Sid
		}
		return fmt.Sprintf("statement %d", i)
	}
	for i, s := range statements {
		if s.Effect == "Deny" && matches(s) {
			return false, name(i, s)
		}
	}
	for i, s := range statements {
		if s.Effect == "Allow" && !s.Conditional && matches(s) {
			return true, name(i, s)
		}
	}
	return false, ""
}

// wildcard matches value against an IAM pattern, where * is any run of characters and ? any one.
// Actions match case-insensitively, resources exactly.
func wildcard(pattern, value string, foldCase bool) bool {
	var re strings.Builder
	re.WriteString("^")
	if foldCase {
		re.WriteString("(?i)")
	}
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(value)
}

// Call is one DynamoDB permission check the function needed: one action on one table. A
// TransactWriteItems call needs one per item.
type Call struct {
	// Operation is the API operation called, such as UpdateItem or TransactWriteItems.
	Operation string
	// Action is the IAM action checked, such as dynamodb:UpdateItem or dynamodb:ConditionCheckItem.
	Action string
	// Table is the table's name.
	Table string
	// Allowed is the verdict; Statement names the statement that decided it.
	Allowed   bool
	Statement string
}

// String describes the call for the report.
func (c Call) String() string {
	if c.Allowed {
		return fmt.Sprintf("%s on %s: allowed by %s", c.Action, c.Table, c.Statement)
	}
	if c.Statement != "" {
		return fmt.Sprintf("%s on %s: DENIED by %s", c.Action, c.Table, c.Statement)
	}
	return fmt.Sprintf("%s on %s: DENIED (no statement allows it)", c.Action, c.Table)
}

// itemActions maps the members of TransactWriteItems and TransactGetItems items to the IAM
// action each needs.
var itemActions = map[string]string{
	"ConditionCheck": "dynamodb:ConditionCheckItem",
	"Put":            "dynamodb:PutItem",
	"Update":         "dynamodb:UpdateItem",
	"Delete":         "dynamodb:DeleteItem",
	"Get":            "dynamodb:GetItem",
}

// requiredActions returns the (action, table) pairs a DynamoDB request needs, from its operation
// and JSON body.
func requiredActions(operation string, body []byte) ([][2]string, error) {
	var req struct {
		TableName     string
		RequestItems  map[string]json.RawMessage
		TransactItems []map[string]struct{ TableName string }
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("read %s request: %w", operation, err)
	}
	var out [][2]string
	switch operation {
	case "TransactWriteItems", "TransactGetItems":
		for _, item := range req.TransactItems {
			for member, target := range item {
				action, ok := itemActions[member]
				if !ok {
					return nil, fmt.Errorf("%s item member %s is unknown", operation, member)
				}
				out = append(out, [2]string{action, target.TableName})
			}
		}
	case "BatchGetItem", "BatchWriteItem":
		for table := range req.RequestItems {
			out = append(out, [2]string{"dynamodb:" + operation, table})
		}
	default:
		out = append(out, [2]string{"dynamodb:" + operation, req.TableName})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	return out, nil
}

// iamProxy forwards DynamoDB requests to the engine when the role's policies allow them.
type iamProxy struct {
	// URL is the proxy's endpoint, for AWS_ENDPOINT_URL_DYNAMODB.
	URL string

	statements []statement
	tableARN   func(table string) string
	principal  string
	server     *http.Server
	listener   net.Listener

	mu    sync.Mutex
	calls []Call
}

// startIAMProxy starts a proxy on 127.0.0.1 in front of the engine at target, enforcing
// statements for principal; tableARN gives a table's ARN in the stack's account and region.
func startIAMProxy(target string, statements []statement, principal string, tableARN func(string) string) (*iamProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("start IAM proxy: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start IAM proxy: %w", err)
	}
	p := &iamProxy{URL: "http://" + l.Addr().String(), statements: statements, principal: principal, tableARN: tableARN, listener: l}
	forward := httputil.NewSingleHostReverseProxy(u)
	p.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		_, operation, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		if denied := p.check(operation, body); denied != nil {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"__type": "com.amazon.coral.service#AccessDeniedException",
				"message": fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
					p.principal, denied.Action, p.tableARN(denied.Table), denied.Action),
			})
			return
		}
		forward.ServeHTTP(w, r)
	})}
	go func() { _ = p.server.Serve(l) }()
	return p, nil
}

// check evaluates and records a request's permissions and returns the first denied call, if any.
func (p *iamProxy) check(operation string, body []byte) *Call {
	pairs, err := requiredActions(operation, body)
	if err != nil {
		pairs = [][2]string{{"dynamodb:" + operation, "?"}}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var denied *Call
	for _, pair := range pairs {
		allowed, by := evaluate(p.statements, pair[0], p.tableARN(pair[1]))
		c := Call{Operation: operation, Action: pair[0], Table: pair[1], Allowed: allowed, Statement: by}
		p.calls = append(p.calls, c)
		if !allowed && denied == nil {
			denied = &c
		}
	}
	return denied
}

// Calls returns the calls checked so far and forgets them.
func (p *iamProxy) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	calls := p.calls
	p.calls = nil
	return calls
}

// Close stops the proxy.
func (p *iamProxy) Close() { _ = p.server.Close() }
