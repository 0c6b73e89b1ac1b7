package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/fixtures"
	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

// env is the engine, its data, our local API and the floor's client.
type env struct {
	engine *engine.Engine
	tables dynamostore.Tables
	// secret is the API key the PATCHes use, keyHash the key it is stored under, orgID its
	// organization.
	secret, keyHash, orgID string
	// items are phone numbers of orgID: the sequential runs use the first, concurrent client i
	// uses item i. Ours and the floor use the same ones.
	items []string

	server  *http.Server
	apiURL  string
	http    *http.Client
	floorDB *dynamodb.Client
	labels  atomic.Int64
}

// newEnv starts dynalite, creates the tables, seeds the fixture file plus one copy of a number
// per concurrent client, and serves our handler on a loopback port.
func newEnv(ctx context.Context, o options) (_ *env, err error) {
	file, err := fixtures.Load(o.fixtures)
	if err != nil {
		return nil, err
	}
	secret, number, ok := pickKeyAndNumber(file)
	if !ok {
		return nil, fmt.Errorf("%s has no unrevoked %s key with a number of its organization", o.fixtures, phonenumbers.ScopeNumbersWrite)
	}
	sec, _ := phonenumbers.ParseSecret(secret)
	e := &env{tables: localconfig.Tables, secret: secret, keyHash: phonenumbers.HashSecret(sec), orgID: number.OrgID}
	for i := range max(o.clients, 1) {
		n := number
		n.ID = newUUID()
		n.Number = fmt.Sprintf("+1415555%04d", 7000+i) // numbers are unique too
		file.PhoneNumbers = append(file.PhoneNumbers, n)
		e.items = append(e.items, n.ID)
	}

	if e.engine, err = engine.StartDynalite(ctx, 0); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	setup, err := e.engine.Client(ctx)
	if err != nil {
		return nil, err
	}
	if err := engine.CreateTables(ctx, setup, e.tables); err != nil {
		return nil, err
	}
	if err := fixtures.Seed(ctx, setup, e.tables, file); err != nil {
		return nil, err
	}

	// Ours and the floor each get a client built the same way (the store's retry and timeout
	// policy), with connection pools of their own.
	handlerDB, err := engine.NewClient(ctx, e.engine.Endpoint)
	if err != nil {
		return nil, err
	}
	if e.floorDB, err = engine.NewClient(ctx, e.engine.Endpoint); err != nil {
		return nil, err
	}
	// The production log line, encoded as in production, written nowhere.
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	handler := wiring.NewHandler(handlerDB, e.tables, logger)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.apiURL = "http://" + listener.Addr().String()
	e.server = &http.Server{Handler: localapi.New(handler.Handle, localconfig.FunctionTimeout), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.server.Serve(listener) }()
	conns := max(o.clients, 1) * 2
	e.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true,
	}}
	progress("dynalite at %s, local API at %s, %d items", e.engine.Endpoint, e.apiURL, len(e.items))
	return e, nil
}

func (e *env) stop() {
	if e.server != nil {
		_ = e.server.Close()
	}
	if e.engine != nil {
		e.engine.Stop()
	}
}

// pickKeyAndNumber picks an unrevoked key with the write scope and a number of its organization.
func pickKeyAndNumber(file *fixtures.File) (string, fixtures.PhoneNumber, bool) {
	for _, key := range file.APIKeys {
		if key.RevokedAt != nil || !slices.Contains(key.Scopes, phonenumbers.ScopeNumbersWrite) {
			continue
		}
		for _, n := range file.PhoneNumbers {
			if n.OrgID == key.OrgID {
				return key.Secret, n, true
			}
		}
	}
	return "", fixtures.PhoneNumber{}, false
}

// newUUID returns a random (version 4) UUID in lower case.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}

// nextLabel returns a label no PATCH has sent before, so that every PATCH is a real write.
func (e *env) nextLabel() string {
	return "bench " + strconv.FormatInt(e.labels.Add(1), 10)
}

// side is one way of applying a PATCH: ours, or the floor.
type side func(ctx context.Context, id string) (time.Duration, error)

// ours sends PATCH /v1/phone-numbers/{id} over HTTP to the local API and checks the answer.
func (e *env) ours(ctx context.Context, id string) (time.Duration, error) {
	label := e.nextLabel()
	body := `{"label":"` + label + `"}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, e.apiURL+"/v1/phone-numbers/"+id, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+e.secret)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("PATCH: %w", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("PATCH: read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"label":"`+label+`"`) {
		return 0, fmt.Errorf("PATCH answered %s: %s", resp.Status, got)
	}
	return took, nil
}

// floor makes the storage calls a PATCH needs and nothing else: the consistent GetItem of the
// key, then the conditional UpdateItem, the same shape as the store's (SET of the field and
// updated_at; the item exists, belongs to the organization, and the value differs), built with
// the expression package. Attribute names are the store's.
func (e *env) floor(ctx context.Context, id string) (time.Duration, error) {
	label := e.nextLabel()
	start := time.Now()
	key, err := e.floorDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(e.tables.APIKeys),
		Key:            map[string]types.AttributeValue{dynamostore.APIKeysHashKey: &types.AttributeValueMemberS{Value: e.keyHash}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, fmt.Errorf("floor GetItem: %w", err)
	}
	if len(key.Item) == 0 {
		return 0, errors.New("floor GetItem: no key")
	}
	name, value := expression.Name("label"), expression.Value(label)
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name("updated_at"), expression.Value(time.Now().UTC().Format(time.RFC3339))).Set(name, value)).
		WithCondition(expression.And(
			expression.AttributeExists(expression.Name("id")),
			expression.Name("org_id").Equal(expression.Value(e.orgID)),
			expression.Or(expression.AttributeNotExists(name), name.NotEqual(value)),
		)).Build()
	if err != nil {
		return 0, err
	}
	_, err = e.floorDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(e.tables.PhoneNumbers),
		Key:                                 map[string]types.AttributeValue{dynamostore.PhoneNumbersHashKey: &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return 0, fmt.Errorf("floor UpdateItem: %w", err)
	}
	return time.Since(start), nil
}

// latencies are one side's measured requests.
type latencies struct {
	all  []time.Duration
	wall time.Duration // the time the side's rounds took, for throughput
}

func (l *latencies) percentile(p float64) time.Duration {
	if len(l.all) == 0 {
		return 0
	}
	s := slices.Clone(l.all)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func (l *latencies) throughput() float64 {
	return float64(len(l.all)) / l.wall.Seconds()
}

// pair is ours and the floor, measured in alternating rounds.
type pair struct {
	ours, floor latencies
	clients     int
}

// runSequential measures n sequential PATCHes on each side, in rounds that alternate which side
// goes first (ours, floor, floor, ours, ...) so that drift in the machine's load falls on both.
func runSequential(ctx context.Context, e *env, o options) (*pair, error) {
	progress("end to end, sequential: %d warm-up, then %d PATCHes per side in rounds of %d", o.warmup, o.n, o.round)
	id := e.items[0]
	for range o.warmup {
		for _, s := range []side{e.ours, e.floor} {
			if _, err := s(ctx, id); err != nil {
				return nil, err
			}
		}
	}
	p := &pair{clients: 1}
	for done, round := 0, 0; done < o.n; round++ {
		k := min(o.round, o.n-done)
		for _, isOurs := range roundOrder(round) {
			s, into := e.ours, &p.ours
			if !isOurs {
				s, into = e.floor, &p.floor
			}
			start := time.Now()
			for range k {
				d, err := s(ctx, id)
				if err != nil {
					return nil, err
				}
				into.all = append(into.all, d)
			}
			into.wall += time.Since(start)
		}
		done += k
	}
	progress("  p50 ours %s, floor %s", p.ours.percentile(0.5), p.floor.percentile(0.5))
	return p, nil
}

// roundOrder alternates which side runs first, ours (true) or the reference: ours first in even
// rounds, the reference first in odd ones.
func roundOrder(round int) []bool {
	if round%2 == 0 {
		return []bool{true, false}
	}
	return []bool{false, true}
}

// runConcurrent measures o.clients clients sending o.perClient PATCHes each, per side, each
// client on its own item, in alternating rounds of o.round requests per client.
func runConcurrent(ctx context.Context, e *env, o options) (*pair, error) {
	progress("end to end, %d concurrent clients: %d PATCHes per client per side in rounds of %d", o.clients, o.perClient, o.round)
	p := &pair{clients: o.clients}
	var discard pair
	// Warm-up: one unmeasured round of each, so that both pools hold a connection per client.
	for _, isOurs := range []bool{true, false} {
		if err := e.concurrentRound(ctx, o.clients, max(o.warmup/o.clients, 1), isOurs, &discard); err != nil {
			return nil, err
		}
	}
	for done, round := 0, 0; done < o.perClient; round++ {
		k := min(o.round, o.perClient-done)
		for _, isOurs := range roundOrder(round) {
			if err := e.concurrentRound(ctx, o.clients, k, isOurs, p); err != nil {
				return nil, err
			}
		}
		done += k
	}
	progress("  p50 ours %s, floor %s; %.0f vs %.0f req/s", p.ours.percentile(0.5), p.floor.percentile(0.5), p.ours.throughput(), p.floor.throughput())
	return p, nil
}

// concurrentRound runs k requests on each of n clients at once, on our side or the floor's,
// into p.
func (e *env) concurrentRound(ctx context.Context, n, k int, isOurs bool, p *pair) error {
	s, into := e.ours, &p.ours
	if !isOurs {
		s, into = e.floor, &p.floor
	}
	per := make([][]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range n {
		wg.Go(func() {
			for range k {
				d, err := s(ctx, e.items[c])
				if err != nil {
					errs[c] = err
					return
				}
				per[c] = append(per[c], d)
			}
		})
	}
	wg.Wait()
	into.wall += time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, l := range per {
		into.all = append(into.all, l...)
	}
	return nil
}
