// Package client is the Go client of a zk2kraft controller quorum's HTTP API
// (see quorum/README.md). It finds the leader, retries appends across leader
// changes without applying any twice (every append carries an idempotency
// token), and reads status, metadata, the image and the record stream.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zk2kraft/zk2kraft/quorum"
)

// Client talks to the client APIs of a quorum's nodes. Safe for concurrent use.
type Client struct {
	addrs  []string
	scheme string
	http   *http.Client

	mu     sync.Mutex
	leader int            // index into addrs of the last known leader
	ids    map[string]int // node id -> index into addrs, learned from status
}

// New returns a client for the API addresses HOST:PORT. With tlsConfig (mutual
// TLS: a client certificate and the CA) it speaks HTTPS, else plain HTTP.
func New(addrs []string, tlsConfig *tls.Config) (*Client, error) {
	var clean []string
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "http://"), "https://")
		clean = append(clean, strings.TrimSuffix(a, "/"))
	}
	if len(clean) == 0 {
		return nil, errors.New("quorum client: no API addresses")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	scheme := "http"
	if tlsConfig != nil {
		tr.TLSClientConfig = tlsConfig.Clone()
		scheme = "https"
	}
	return &Client{addrs: clean, scheme: scheme, http: &http.Client{Transport: tr}, ids: map[string]int{}}, nil
}

// ParseAddrs splits "h1:p1,h2:p2,...".
func ParseAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Addrs returns the API addresses.
func (c *Client) Addrs() []string { return append([]string(nil), c.addrs...) }

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// AppendOptions are the optional parts of an append.
type AppendOptions struct {
	// Token makes the append idempotent. Empty: the client makes a random
	// one, so its own retries are safe; pass a token derived from your
	// position (e.g. "mirror:zxid:0x1f") to be safe across restarts too.
	Token string
	// ExpectedOffset, when set, is a precondition: the first record must get
	// exactly this offset (see Offset).
	ExpectedOffset *int64
	// If is a precondition on the quorum's Meta ("" = key absent).
	If map[string]string
}

// Offset returns a pointer to o, for AppendOptions.ExpectedOffset.
func Offset(o int64) *int64 { return &o }

// Offsets is where an applied batch landed in the log.
type Offsets struct {
	Base, Last int64 // offsets of the first and last record (Last = Base-1 for an empty batch)
	Epoch      int32 // raft term = Kafka leader epoch of the records
	Records    int
	Index      uint64 // raft index of the entry
	Duplicate  bool   // the token had been applied before; these are the first result's offsets
}

// PreconditionError means ExpectedOffset or If did not hold: nothing was applied.
type PreconditionError struct{ Result quorum.AppendResult }

func (e *PreconditionError) Error() string { return "quorum: precondition failed: " + e.Result.Error }

// RejectedError means the state machine rejected the batch (a malformed
// record or one contradicting the image): nothing was applied.
type RejectedError struct{ Result quorum.AppendResult }

func (e *RejectedError) Error() string { return "quorum: batch rejected: " + e.Result.Error }

// NewToken returns a random idempotency token.
func NewToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AppendBatch appends one encoded RecordBatch v2 (may be nil for a
// metadata-only entry) with meta, retrying on other nodes until the leader
// takes it or ctx ends. Without a deadline on ctx it gives up after 30 s.
func (c *Client) AppendBatch(ctx context.Context, batch []byte, meta map[string]string, opts AppendOptions) (Offsets, error) {
	e := quorum.Entry{Token: opts.Token, ExpectedOffset: -1, If: opts.If, Meta: meta, Batch: batch}
	if e.Token == "" {
		e.Token = NewToken()
	}
	if opts.ExpectedOffset != nil {
		e.ExpectedOffset = *opts.ExpectedOffset
	}
	// The batch is sent after the entry header, not copied behind it.
	return c.appendEntry(ctx, quorum.EncodeEntryHeader(e), batch)
}

// appendEntry appends the entry whose encoding is head followed by tail.
func (c *Client) appendEntry(ctx context.Context, head, tail []byte) (Offsets, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	backoff := 10 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		i := c.leaderGuess()
		res, redirect, err := c.appendOnce(ctx, c.addrs[i], head, tail)
		if err == nil {
			return Offsets{Base: res.BaseOffset, Last: res.LastOffset, Epoch: res.Epoch, Records: res.Records, Index: res.Index, Duplicate: res.Duplicate}, nil
		}
		var pe *PreconditionError
		var re *RejectedError
		var fatal *fatalError
		if errors.As(err, &pe) || errors.As(err, &re) {
			return Offsets{}, err
		}
		if errors.As(err, &fatal) {
			return Offsets{}, fatal.err
		}
		lastErr = err
		if redirect != "" {
			if j, ok := c.indexOf(ctx, redirect); ok && j != i {
				c.setLeader(j)
				continue
			}
		}
		c.setLeader((i + 1) % len(c.addrs))
		if attempt%len(c.addrs) == len(c.addrs)-1 {
			select {
			case <-ctx.Done():
				return Offsets{}, fmt.Errorf("quorum append: %w (last error: %v)", ctx.Err(), lastErr)
			case <-time.After(backoff):
			}
			if backoff < 100*time.Millisecond {
				backoff *= 2
			}
		}
		if ctx.Err() != nil {
			return Offsets{}, fmt.Errorf("quorum append: %w (last error: %v)", ctx.Err(), lastErr)
		}
	}
}

type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// appendOnce posts the entry to one node. redirect is the leader id a
// follower named.
func (c *Client) appendOnce(ctx context.Context, addr string, head, tail []byte) (quorum.AppendResult, string, error) {
	var res quorum.AppendResult
	entry := func() io.Reader { return io.MultiReader(bytes.NewReader(head), bytes.NewReader(tail)) }
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(addr, "/v1/append", nil), entry())
	if err != nil {
		return res, "", &fatalError{err}
	}
	req.ContentLength = int64(len(head) + len(tail))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(entry()), nil }
	req.Header.Set("Content-Type", quorum.ContentTypeEntry)
	resp, err := c.http.Do(req)
	if err != nil {
		return res, "", fmt.Errorf("%s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return res, "", fmt.Errorf("%s: read answer: %w", addr, err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &res); err != nil {
			return res, "", fmt.Errorf("%s: decode answer: %w", addr, err)
		}
		return res, "", nil
	}
	var ae quorum.APIError
	json.Unmarshal(body, &ae)
	switch resp.StatusCode {
	case http.StatusConflict:
		if ae.Result != nil {
			return res, "", &PreconditionError{Result: *ae.Result}
		}
	case http.StatusUnprocessableEntity:
		if ae.Result != nil {
			return res, "", &RejectedError{Result: *ae.Result}
		}
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return res, "", &fatalError{fmt.Errorf("quorum append refused by %s: %s", addr, ae.Error)}
	case http.StatusMisdirectedRequest:
		return res, ae.LeaderID, fmt.Errorf("%s: %s", addr, ae.Error)
	}
	return res, "", fmt.Errorf("%s: HTTP %d: %s", addr, resp.StatusCode, strings.TrimSpace(ae.Error))
}

func (c *Client) url(addr, path string, q url.Values) string {
	u := c.scheme + "://" + addr + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (c *Client) leaderGuess() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

func (c *Client) setLeader(i int) {
	c.mu.Lock()
	c.leader = i
	c.mu.Unlock()
}

// indexOf maps a node id to an address, asking every node its id once.
func (c *Client) indexOf(ctx context.Context, id string) (int, bool) {
	c.mu.Lock()
	i, ok := c.ids[id]
	c.mu.Unlock()
	if ok {
		return i, true
	}
	for j, a := range c.addrs {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := c.statusOf(sctx, a)
		cancel()
		if err == nil {
			c.mu.Lock()
			c.ids[st.NodeID] = j
			c.mu.Unlock()
			if st.NodeID == id {
				i, ok = j, true
			}
		}
	}
	return i, ok
}

// get sends a GET of path to addr; the caller closes the answer's body.
func (c *Client) get(ctx context.Context, addr, path string, q url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(addr, path, q), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return resp, nil
}

func (c *Client) getJSON(ctx context.Context, addr, path string, q url.Values, v any) error {
	resp, err := c.get(ctx, addr, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return apiErr(addr, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s%s: decode answer: %w", addr, path, err)
	}
	return nil
}

// HTTPError is a non-2xx answer of a node.
type HTTPError struct {
	Addr     string
	Code     int
	APIError quorum.APIError
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.Addr, e.Code, e.APIError.Error)
}

func apiErr(addr string, code int, body []byte) error {
	he := &HTTPError{Addr: addr, Code: code}
	if json.Unmarshal(body, &he.APIError) != nil || he.APIError.Error == "" {
		he.APIError.Error = strings.TrimSpace(string(body))
	}
	return he
}

func (c *Client) statusOf(ctx context.Context, addr string) (quorum.Status, error) {
	var st quorum.Status
	err := c.getJSON(ctx, addr, "/v1/status", nil, &st)
	return st, err
}

// NodeStatus is one node's answer (or why there was none).
type NodeStatus struct {
	Addr   string         `json:"addr"`
	Status *quorum.Status `json:"status,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// StatusAll asks every node for its status, concurrently.
func (c *Client) StatusAll(ctx context.Context) []NodeStatus {
	out := make([]NodeStatus, len(c.addrs))
	var wg sync.WaitGroup
	for i, a := range c.addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].Addr = a
			st, err := c.statusOf(ctx, a)
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Status = &st
			c.mu.Lock()
			c.ids[st.NodeID] = i
			if st.State == "Leader" {
				c.leader = i
			}
			c.mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// Status returns the leader's status (or, with no leader, the first node
// that answers).
func (c *Client) Status(ctx context.Context) (quorum.Status, error) {
	all := c.StatusAll(ctx)
	var first *quorum.Status
	var errs []string
	for _, ns := range all {
		if ns.Status == nil {
			errs = append(errs, ns.Error)
			continue
		}
		if ns.Status.State == "Leader" {
			return *ns.Status, nil
		}
		if first == nil {
			first = ns.Status
		}
	}
	if first != nil {
		return *first, nil
	}
	return quorum.Status{}, fmt.Errorf("quorum status: no node answered: %s", strings.Join(errs, "; "))
}

// onLeader runs fn against the leader, following redirects and retrying on
// other nodes until ctx ends (30 s without a deadline).
func (c *Client) onLeader(ctx context.Context, fn func(addr string) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	backoff := 10 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		i := c.leaderGuess()
		err := fn(c.addrs[i])
		if err == nil {
			return nil
		}
		lastErr = err
		var he *HTTPError
		if errors.As(err, &he) {
			switch he.Code {
			case http.StatusMisdirectedRequest:
				if j, ok := c.indexOf(ctx, he.APIError.LeaderID); ok && j != i {
					c.setLeader(j)
					continue
				}
			case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			default:
				return err
			}
		}
		c.setLeader((i + 1) % len(c.addrs))
		if attempt%len(c.addrs) == len(c.addrs)-1 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
			case <-time.After(backoff):
			}
			if backoff < 100*time.Millisecond {
				backoff *= 2
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
		}
	}
}

var consistent = url.Values{"consistent": {"true"}}

// Meta returns the quorum's metadata map and position, read on the leader
// after every committed entry is applied (linearizable).
func (c *Client) Meta(ctx context.Context) (quorum.MetaView, error) {
	var mv quorum.MetaView
	err := c.onLeader(ctx, func(addr string) error { return c.getJSON(ctx, addr, "/v1/meta", consistent, &mv) })
	if err != nil {
		return mv, fmt.Errorf("quorum meta: %w", err)
	}
	return mv, nil
}

// ImageJSON returns the image, or a section of it ("features", "topics",
// "topic" with name, "configs", "quotas", "scram", "acls", "producer_ids",
// "delegation_tokens", "migration"; "" = all), as JSON from the leader.
func (c *Client) ImageJSON(ctx context.Context, section, name string) ([]byte, error) {
	q := url.Values{"consistent": {"true"}, "format": {"json"}}
	if section != "" {
		q.Set("section", section)
	}
	if name != "" {
		q.Set("name", name)
	}
	var out []byte
	err := c.onLeader(ctx, func(addr string) error {
		b, _, err := c.getRaw(ctx, addr, "/v1/image", q)
		out = b
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("quorum image: %w", err)
	}
	return out, nil
}

// Checkpoint writes the image as a Kafka .checkpoint to w (consistent read on
// the leader) and returns the file name Kafka would give it and the position.
func (c *Client) Checkpoint(ctx context.Context, w io.Writer) (name string, pos quorum.Position, err error) {
	q := url.Values{"consistent": {"true"}, "format": {"checkpoint"}}
	var body []byte
	var h http.Header
	err = c.onLeader(ctx, func(addr string) error {
		var err error
		body, h, err = c.getRaw(ctx, addr, "/v1/image", q)
		return err
	})
	if err != nil {
		return "", pos, fmt.Errorf("quorum checkpoint: %w", err)
	}
	pos = positionOf(h)
	if _, err := w.Write(body); err != nil {
		return "", pos, fmt.Errorf("quorum checkpoint: write: %w", err)
	}
	return h.Get(quorum.HeaderCheckpointName), pos, nil
}

// positionOf reads the log position an image answer carries.
func positionOf(h http.Header) (pos quorum.Position) {
	pos.NextOffset, _ = strconv.ParseInt(h.Get(quorum.HeaderNextOffset), 10, 64)
	pos.LastOffset, _ = strconv.ParseInt(h.Get(quorum.HeaderLastOffset), 10, 64)
	e, _ := strconv.Atoi(h.Get(quorum.HeaderLastEpoch))
	pos.LastEpoch = int32(e)
	return pos
}

// getStream is getRaw for large answers, on the leader: read is given the
// body as it arrives (a million partitions' checkpoint is not held whole).
// A failed read is retried on the leader like a failed request.
func (c *Client) getStream(ctx context.Context, path string, q url.Values, read func(body io.Reader, h http.Header) error) error {
	return c.onLeader(ctx, func(addr string) error {
		resp, err := c.get(ctx, addr, path, q)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			return apiErr(addr, resp.StatusCode, body)
		}
		if err := read(resp.Body, resp.Header); err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		return nil
	})
}

func (c *Client) getRaw(ctx context.Context, addr, path string, q url.Values) ([]byte, http.Header, error) {
	resp, err := c.get(ctx, addr, path, q)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read answer: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, apiErr(addr, resp.StatusCode, body)
	}
	return body, resp.Header, nil
}

// ErrOffsetTooOld means the node no longer holds the records asked for: read
// the image (Checkpoint/Image) and stream from its end offset.
var ErrOffsetTooOld = quorum.ErrOffsetTooOld

// Records returns committed RecordBatches (back to back, base offsets and
// epochs set) holding offsets >= from, waiting up to wait for new ones, and
// the offset to ask for next. It reads from the leader.
func (c *Client) Records(ctx context.Context, from int64, wait time.Duration) ([]byte, int64, error) {
	q := url.Values{"from": {strconv.FormatInt(from, 10)}, "wait_ms": {strconv.FormatInt(wait.Milliseconds(), 10)}}
	var body []byte
	var h http.Header
	err := c.onLeader(ctx, func(addr string) error {
		var err error
		body, h, err = c.getRaw(ctx, addr, "/v1/records", q)
		return err
	})
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) && he.Code == http.StatusGone {
			return nil, from, fmt.Errorf("quorum records from %d: %w", from, ErrOffsetTooOld)
		}
		return nil, from, fmt.Errorf("quorum records from %d: %w", from, err)
	}
	next, _ := strconv.ParseInt(h.Get(quorum.HeaderNextOffset), 10, 64)
	return body, next, nil
}

// WaitReady waits until the quorum has a leader that answers, and returns
// its status.
func (c *Client) WaitReady(ctx context.Context) (quorum.Status, error) {
	for {
		st, err := c.Status(ctx)
		if err == nil && st.State == "Leader" {
			return st, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("no leader (node %s is %s)", st.NodeID, st.State)
			}
			return st, fmt.Errorf("quorum not ready: %w (%v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
