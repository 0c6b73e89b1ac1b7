package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sms-platform/phone-numbers/local/cmd/bench/plain"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/fixtures"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

// stack is make run's server, started from its binary as a subprocess with its own dynalite,
// the data it serves, and the floor's client to that dynalite.
type stack struct {
	server         *exec.Cmd
	serverExited   chan struct{}
	serverOutput   *tail
	apiURL         string
	dynamoEndpoint string
	tables         dynamostore.Tables
	// secret is the API key the PATCHes use, keyHash the key it is stored under, orgID its
	// organization.
	secret, keyHash, orgID string
	// items are phone numbers of orgID: the sequential runs and the cold starts use the first,
	// concurrent client i uses item i. Ours and the floor use the same ones.
	items []string

	http    *http.Client
	floorDB *dynamodb.Client
	labels  atomic.Int64
}

// startStack writes the fixture file plus one copy of a number per concurrent client, and starts
// the make run binary on two free ports with it, and waits until it serves.
func startStack(ctx context.Context, o options, runBinary, dir string) (_ *stack, err error) {
	file, err := fixtures.Load(o.fixtures)
	if err != nil {
		return nil, err
	}
	secret, number, ok := file.DemoRequest()
	if !ok {
		return nil, fmt.Errorf("%s has no unrevoked %s key with a number of its organization", o.fixtures, phonenumbers.ScopeNumbersWrite)
	}
	s := &stack{tables: localconfig.Tables, secret: secret, keyHash: plain.HashSecret(secret), orgID: number.OrgID}
	for i := range max(o.clients, 1) {
		n := number
		n.ID = phonenumberstest.NewUUID()
		n.Number = fmt.Sprintf("+1415555%04d", 7000+i) // numbers are unique too
		file.PhoneNumbers = append(file.PhoneNumbers, n)
		s.items = append(s.items, n.ID)
	}
	data, err := json.Marshal(file)
	if err != nil {
		return nil, err
	}
	fixturePath := filepath.Join(dir, "fixtures.json")
	if err := os.WriteFile(fixturePath, data, 0o600); err != nil {
		return nil, err
	}

	apiPort, dynamoPort, err := twoFreePorts()
	if err != nil {
		return nil, err
	}
	s.apiURL = "http://127.0.0.1:" + strconv.Itoa(apiPort)
	s.dynamoEndpoint = "http://127.0.0.1:" + strconv.Itoa(dynamoPort)
	cmd := exec.Command(runBinary, "-port", strconv.Itoa(apiPort), "-dynamodb-port", strconv.Itoa(dynamoPort), "-fixtures", fixturePath)
	// The local table names, whatever the caller's environment says.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == dynamostore.EnvAPIKeysTable || name == dynamostore.EnvCampaignsTable || name == dynamostore.EnvPhoneNumbersTable
	})
	// Its own process group; nothing outlives an interrupted run, since the server stops itself
	// and its engine when its parent goes (local/cmd/run watches it on every platform).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.serverOutput = &tail{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = s.serverOutput, s.serverOutput
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", runBinary, err)
	}
	s.server, s.serverExited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.serverExited) }()
	defer func() {
		if err != nil {
			s.stop()
		}
	}()

	conns := max(o.clients, 1) * 2
	s.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true,
	}}
	if err := s.waitServing(ctx, time.Minute); err != nil {
		return nil, err
	}
	// The floor's client is built as the server's is (engine.NewClient: the store's client with
	// the store's retry and timeout policy), with a connection pool of its own.
	if s.floorDB, err = engine.NewClient(ctx, s.dynamoEndpoint); err != nil {
		return nil, err
	}
	progress("make run's server at %s (pid %d), its dynalite at %s, %d items", s.apiURL, cmd.Process.Pid, s.dynamoEndpoint, len(s.items))
	return s, nil
}

// waitServing waits until the server answers HTTP: it claims its port first and serves only
// once dynalite runs and the fixtures are loaded, so any answer means ready.
func (s *stack) waitServing(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	probe := &http.Client{Timeout: timeout}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.apiURL+"/", nil)
		resp, err := probe.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.serverExited:
			return fmt.Errorf("make run's server exited before serving:\n%s", s.serverOutput)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("make run's server not serving at %s after %s:\n%s", s.apiURL, timeout, s.serverOutput)
		}
	}
}

// stop stops the server as Ctrl-C does (it stops its dynalite), and kills what is left after a
// grace period.
func (s *stack) stop() {
	if s.server == nil {
		return
	}
	_ = s.server.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.serverExited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.server.Process.Pid, syscall.SIGKILL)
		<-s.serverExited
	}
	if s.http != nil {
		s.http.CloseIdleConnections()
	}
}

// twoFreePorts returns two distinct loopback ports, free a moment ago, in 20000-40000.
func twoFreePorts() (int, int, error) {
	var ports []int
	for tries := 0; len(ports) < 2 && tries < 100; tries++ {
		n, err := rand.Int(rand.Reader, big.NewInt(20000))
		if err != nil {
			return 0, 0, err
		}
		port := 20000 + int(n.Int64())
		if slices.Contains(ports, port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		ports = append(ports, port)
	}
	if len(ports) < 2 {
		return 0, 0, errors.New("no two free ports in 20000-40000")
	}
	return ports[0], ports[1], nil
}

// tail keeps the last max bytes written to it, for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = slices.Delete(t.buf, 0, over)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.Clone(t.buf))
}

// nextLabel returns a label no PATCH has sent before, so that every PATCH is a real write.
func (s *stack) nextLabel() string {
	return "bench " + strconv.FormatInt(s.labels.Add(1), 10)
}

// side is one way of applying a PATCH: ours, or the floor.
type side func(ctx context.Context, id string) (time.Duration, error)

// ours sends PATCH /v1/phone-numbers/{id} over HTTP to make run's server and checks the answer.
func (s *stack) ours(ctx context.Context, id string) (time.Duration, error) {
	label := s.nextLabel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, s.apiURL+"/v1/phone-numbers/"+id, strings.NewReader(`{"label":"`+label+`"}`))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.secret)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("PATCH: %w", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("PATCH: read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(got, []byte(`"label":"`+label+`"`)) {
		return 0, fmt.Errorf("PATCH answered %s: %s", resp.Status, got)
	}
	return took, nil
}

// floor makes the storage calls a PATCH needs and nothing else, from the bench's process: the
// consistent GetItem of the key, then the conditional UpdateItem with plain expressions
// (plain.UpdateExpression, plain.ConditionExpression).
func (s *stack) floor(ctx context.Context, id string) (time.Duration, error) {
	label := s.nextLabel()
	start := time.Now()
	orgID, err := plain.KeyOrg(ctx, s.floorDB, s.tables.APIKeys, s.keyHash)
	if err != nil {
		return 0, fmt.Errorf("floor: %w", err)
	}
	if _, err := plain.UpdateLabel(ctx, s.floorDB, s.tables.PhoneNumbers, id, orgID, label, time.Now()); err != nil {
		return 0, fmt.Errorf("floor: %w", err)
	}
	return time.Since(start), nil
}

// pair is ours and the floor in one repetition, measured in alternating rounds.
type pair struct {
	ours, floor latencies
}

// e2eResults are the end-to-end repetitions.
type e2eResults struct {
	sequential, concurrent []*pair
	clients                int
}

// runEndToEnd runs o.reps repetitions, each a sequential and a concurrent measurement.
func runEndToEnd(ctx context.Context, s *stack, o options) (*e2eResults, error) {
	progress("end to end: %d warm-up PATCHes per side, then %d repetitions of %d sequential PATCHes and %d clients × %d PATCHes per side, in alternating rounds of %d",
		o.warmup, o.reps, o.n, o.clients, o.perClient, o.round)
	for range o.warmup {
		for _, sd := range []side{s.ours, s.floor} {
			if _, err := sd(ctx, s.items[0]); err != nil {
				return nil, err
			}
		}
	}
	r := &e2eResults{clients: o.clients}
	for rep := range o.reps {
		seq, err := runSequential(ctx, s, o)
		if err != nil {
			return nil, err
		}
		conc, err := runConcurrent(ctx, s, o)
		if err != nil {
			return nil, err
		}
		r.sequential, r.concurrent = append(r.sequential, seq), append(r.concurrent, conc)
		progress("  repetition %d: sequential p50 ours %.2f ms, floor %.2f ms; %d clients p50 ours %.2f ms, floor %.2f ms, %.0f vs %.0f req/s",
			rep+1, ms(seq.ours.percentile(0.5)), ms(seq.floor.percentile(0.5)), o.clients,
			ms(conc.ours.percentile(0.5)), ms(conc.floor.percentile(0.5)), conc.ours.throughput(), conc.floor.throughput())
	}
	return r, nil
}

// runSequential measures o.n sequential PATCHes on each side, in rounds that alternate which
// side goes first.
func runSequential(ctx context.Context, s *stack, o options) (*pair, error) {
	p := &pair{}
	id := s.items[0]
	for done, round := 0, 0; done < o.n; round++ {
		k := min(o.round, o.n-done)
		for _, isOurs := range roundOrder(round) {
			sd, into := s.ours, &p.ours
			if !isOurs {
				sd, into = s.floor, &p.floor
			}
			start := time.Now()
			for range k {
				d, err := sd(ctx, id)
				if err != nil {
					return nil, err
				}
				into.all = append(into.all, d)
			}
			into.wall += time.Since(start)
		}
		done += k
	}
	return p, nil
}

// runConcurrent measures o.clients clients sending o.perClient PATCHes each, per side, each
// client on its own item, in alternating rounds of o.round requests per client.
func runConcurrent(ctx context.Context, s *stack, o options) (*pair, error) {
	p := &pair{}
	var discard pair
	// Warm-up: one unmeasured round of each, so that both pools hold a connection per client.
	for _, isOurs := range []bool{true, false} {
		if err := s.concurrentRound(ctx, o.clients, 2, isOurs, &discard); err != nil {
			return nil, err
		}
	}
	for done, round := 0, 0; done < o.perClient; round++ {
		k := min(o.round, o.perClient-done)
		for _, isOurs := range roundOrder(round) {
			if err := s.concurrentRound(ctx, o.clients, k, isOurs, p); err != nil {
				return nil, err
			}
		}
		done += k
	}
	return p, nil
}

// concurrentRound runs k requests on each of n clients at once, on our side or the floor's,
// into p.
func (s *stack) concurrentRound(ctx context.Context, n, k int, isOurs bool, p *pair) error {
	sd, into := s.ours, &p.ours
	if !isOurs {
		sd, into = s.floor, &p.floor
	}
	per := make([][]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range n {
		wg.Go(func() {
			for range k {
				d, err := sd(ctx, s.items[c])
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

// rows returns the end-to-end rows.
func (r *e2eResults) rows() []row {
	var out []row
	for _, x := range []struct {
		pairs []*pair
		name  string
		what  string
	}{
		{r.sequential, "sequential", "one client"},
		{r.concurrent, strconv.Itoa(r.clients) + "-clients", strconv.Itoa(r.clients) + " concurrent clients"},
	} {
		var p50, p50Floor, p99, p99Floor, tput, tputFloor []float64
		n := 0
		for _, p := range x.pairs {
			p50, p50Floor = append(p50, ms(p.ours.percentile(0.5))), append(p50Floor, ms(p.floor.percentile(0.5)))
			p99, p99Floor = append(p99, ms(p.ours.percentile(0.99))), append(p99Floor, ms(p.floor.percentile(0.99)))
			tput, tputFloor = append(tput, p.ours.throughput()), append(tputFloor, p.floor.throughput())
			n = len(p.ours.all)
		}
		out = append(out,
			compared("e2e-p50-"+x.name, fmt.Sprintf("make run's server against the plain floor: p50, %s, %d PATCHes per side per repetition", x.what, n),
				unitMs, p50, p50Floor, targetE2EP50),
			compared("e2e-p99-"+x.name, fmt.Sprintf("the same: p99, %s", x.what), unitMs, p99, p99Floor, nil),
		)
		if x.name != "sequential" {
			out = append(out, compared("throughput-"+x.name, fmt.Sprintf("the same: requests per second, %s", x.what),
				unitReqS, tput, tputFloor, targetThroughput))
		}
	}
	return out
}
