package quorum

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Content types of the client API.
const (
	ContentTypeEntry       = "application/vnd.zk2kraft.entry"       // EncodeEntry's binary form
	ContentTypeCheckpoint  = "application/vnd.kafka.checkpoint"     // a Kafka .checkpoint file
	ContentTypeRecordBatch = "application/vnd.kafka.record-batches" // RecordBatch v2, back to back
)

// Response headers of the client API.
const (
	HeaderNextOffset     = "Zk2kraft-Next-Offset"
	HeaderLastOffset     = "Zk2kraft-Last-Offset"
	HeaderLastEpoch      = "Zk2kraft-Last-Epoch"
	HeaderCheckpointName = "Zk2kraft-Checkpoint-Name"
	HeaderClusterID      = "Zk2kraft-Cluster-Id"
)

// JSONAppend is the JSON form of an append request (Content-Type
// application/json); Batch is base64 in JSON.
type JSONAppend struct {
	Token          string            `json:"token,omitempty"`
	ExpectedOffset *int64            `json:"expected_offset,omitempty"`
	If             map[string]string `json:"if,omitempty"`
	Meta           map[string]string `json:"meta,omitempty"`
	Batch          []byte            `json:"batch,omitempty"`
}

// APIError is the body of every non-2xx API answer.
type APIError struct {
	Error      string        `json:"error"`
	LeaderID   string        `json:"leader_id,omitempty"`
	LeaderAddr string        `json:"leader_addr,omitempty"`
	Oldest     *int64        `json:"oldest_offset,omitempty"`
	Result     *AppendResult `json:"result,omitempty"`
}

// MetaView is the answer of GET /v1/meta.
type MetaView struct {
	NodeID    string            `json:"node_id"`
	ClusterID string            `json:"cluster_id"`
	Position  Position          `json:"position"`
	Meta      map[string]string `json:"meta"`
}

// JSONSectionWriter is implemented by Checkpoints that can render the image,
// or one section of it, as JSON.
type JSONSectionWriter interface {
	WriteJSON(w io.Writer, section, name string) error
}

// ErrUnknownSection is wrapped when an image section does not exist.
var ErrUnknownSection = errors.New("unknown image section")

const maxEntryBody = MaxBatchBytes + 1<<20

func (n *Node) startAPI() error {
	ln := n.cfg.apiLn
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", n.cfg.API)
		if err != nil {
			return fmt.Errorf("API listen %s: %w", n.cfg.API, err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/append", n.handleAppend)
	mux.HandleFunc("GET /v1/status", n.handleStatus)
	mux.HandleFunc("GET /v1/meta", n.handleMeta)
	mux.HandleFunc("GET /v1/image", n.handleImage)
	mux.HandleFunc("GET /v1/records", n.handleRecords)
	n.api = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         n.cfg.TLS.Clone(), // ServeTLS edits it (HTTP/2 protocols)
		ErrorLog:          nil,
	}
	n.apiLn = ln
	n.apiDone = make(chan struct{})
	go func() {
		defer close(n.apiDone)
		var err error
		if n.cfg.TLS != nil {
			err = n.api.ServeTLS(ln, "", "")
		} else {
			err = n.api.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("quorum: API server stopped", "err", err)
		}
	}()
	return nil
}

func writeJSONResponse(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func apiError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSONResponse(w, code, APIError{Error: fmt.Sprintf(format, args...)})
}

func (n *Node) handleAppend(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= maxEntryBody {
		// ReadFrom wants MinRead bytes free to see EOF: without them it
		// would copy the whole body into a buffer twice as large.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxEntryBody))
	body := buf.Bytes()
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "read append body: %v", err)
		return
	}
	var entry []byte
	switch ct := r.Header.Get("Content-Type"); ct {
	case ContentTypeEntry:
		entry = body
	case "application/json":
		var ja JSONAppend
		if err := json.Unmarshal(body, &ja); err != nil {
			apiError(w, http.StatusBadRequest, "decode JSON append request: %v", err)
			return
		}
		e := Entry{Token: ja.Token, ExpectedOffset: -1, If: ja.If, Meta: ja.Meta, Batch: ja.Batch}
		if ja.ExpectedOffset != nil {
			e.ExpectedOffset = *ja.ExpectedOffset
		}
		entry = EncodeEntry(e)
	default:
		apiError(w, http.StatusUnsupportedMediaType, "Content-Type %q: want %s or application/json", ct, ContentTypeEntry)
		return
	}
	if e, err := DecodeEntry(entry); err != nil {
		apiError(w, http.StatusBadRequest, "%v", err)
		return
	} else if err := checkBatchHeader(e.Batch); err != nil {
		apiError(w, http.StatusBadRequest, "batch: %v", err)
		return
	}
	res, err := n.Append(r.Context(), entry)
	var nl *NotLeaderError
	switch {
	case errors.As(err, &nl):
		writeJSONResponse(w, http.StatusMisdirectedRequest, APIError{Error: err.Error(), LeaderID: nl.LeaderID, LeaderAddr: nl.LeaderAddr})
	case err != nil:
		apiError(w, http.StatusServiceUnavailable, "%v", err)
	case res.ErrorKind == ErrorKindPrecondition:
		writeJSONResponse(w, http.StatusConflict, APIError{Error: res.Error, Result: &res})
	case res.ErrorKind == ErrorKindRejected:
		writeJSONResponse(w, http.StatusUnprocessableEntity, APIError{Error: res.Error, Result: &res})
	default:
		writeJSONResponse(w, http.StatusOK, res)
	}
}

// checkBatchHeader rejects, before it enters the log, a batch that is not a
// well-formed RecordBatch v2 (length, magic, CRC-32C).
func checkBatchHeader(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return validateRecordBatch(b)
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSONResponse(w, http.StatusOK, n.Status())
}

func (n *Node) handleMeta(w http.ResponseWriter, r *http.Request) {
	if !n.readBarrier(w, r) {
		return
	}
	pos, meta, _ := n.fsm.view()
	writeJSONResponse(w, http.StatusOK, MetaView{NodeID: n.cfg.NodeID, ClusterID: n.clusterID, Position: pos, Meta: meta})
}

// readBarrier honours ?consistent=true (leader only: every committed entry is
// applied before the read) and ?min_offset=N (wait until offset N is applied,
// up to ?wait_ms, default 5000). It writes the error and returns false when
// the read cannot be served.
func (n *Node) readBarrier(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if c := q.Get("consistent"); c == "true" || c == "1" {
		if !n.IsLeader() {
			addr, id := n.raft.LeaderWithID()
			writeJSONResponse(w, http.StatusMisdirectedRequest, APIError{Error: "consistent read: not the leader", LeaderID: string(id), LeaderAddr: string(addr)})
			return false
		}
		if err := n.Barrier(5 * time.Second); err != nil {
			apiError(w, http.StatusServiceUnavailable, "consistent read: %v", err)
			return false
		}
	}
	if s := q.Get("min_offset"); s != "" {
		off, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			apiError(w, http.StatusBadRequest, "min_offset %q: want an integer", s)
			return false
		}
		ctx, cancel := context.WithTimeout(r.Context(), waitParam(r, 5*time.Second))
		defer cancel()
		if err := n.WaitOffset(ctx, off); err != nil {
			apiError(w, http.StatusGatewayTimeout, "offset %d not applied on node %s yet: %v", off, n.cfg.NodeID, err)
			return false
		}
	}
	return true
}

func waitParam(r *http.Request, def time.Duration) time.Duration {
	if s := r.URL.Query().Get("wait_ms"); s != "" {
		if ms, err := strconv.Atoi(s); err == nil && ms >= 0 {
			d := time.Duration(ms) * time.Millisecond
			if d > time.Minute {
				d = time.Minute
			}
			return d
		}
	}
	return def
}

func (n *Node) handleImage(w http.ResponseWriter, r *http.Request) {
	if !n.readBarrier(w, r) {
		return
	}
	cp, pos, err := n.Capture()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "capture image: %v", err)
		return
	}
	h := w.Header()
	h.Set(HeaderClusterID, n.clusterID)
	h.Set(HeaderNextOffset, strconv.FormatInt(pos.NextOffset, 10))
	h.Set(HeaderLastOffset, strconv.FormatInt(pos.LastOffset, 10))
	h.Set(HeaderLastEpoch, strconv.Itoa(int(pos.LastEpoch)))
	q := r.URL.Query()
	switch format := q.Get("format"); format {
	case "checkpoint":
		h.Set("Content-Type", ContentTypeCheckpoint)
		h.Set(HeaderCheckpointName, CheckpointName(pos))
		if err := cp.WriteCheckpoint(w, pos); err != nil {
			n.log.Warn("quorum: write checkpoint to client", "err", err)
		}
	case "", "json":
		jw, ok := cp.(JSONSectionWriter)
		if !ok {
			apiError(w, http.StatusNotImplemented, "this state machine cannot render JSON")
			return
		}
		section, name := q.Get("section"), q.Get("name")
		if t := q.Get("topic"); t != "" {
			section, name = "topic", t
		}
		// Render to memory first so an unknown section is a clean 404.
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(jw.WriteJSON(pw, section, name)) }()
		buf := make([]byte, 1)
		k, err := io.ReadFull(pr, buf)
		if err != nil && k == 0 {
			if errors.Is(err, ErrUnknownSection) {
				apiError(w, http.StatusNotFound, "%v", err)
			} else {
				apiError(w, http.StatusInternalServerError, "render image: %v", err)
			}
			pr.Close()
			return
		}
		h.Set("Content-Type", "application/json")
		w.Write(buf[:k])
		io.Copy(w, pr)
	default:
		apiError(w, http.StatusBadRequest, "format %q: want json or checkpoint", format)
	}
}

func (n *Node) handleRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := strconv.ParseInt(q.Get("from"), 10, 64)
	if err != nil || from < 0 {
		apiError(w, http.StatusBadRequest, "from %q: want an offset >= 0", q.Get("from"))
		return
	}
	maxBytes := 4 << 20
	if s := q.Get("max_bytes"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			maxBytes = v
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), waitParam(r, 0))
	defer cancel()
	for {
		ch, pos := n.fsm.waitChan()
		if from > pos.NextOffset {
			apiError(w, http.StatusRequestedRangeNotSatisfiable, "offset %d is beyond the log end %d", from, pos.NextOffset)
			return
		}
		batches, next, err := n.fsm.recordsFrom(from, maxBytes) // chunks of stamped batches
		if errors.Is(err, ErrOffsetTooOld) {
			oldest := pos.NextOffset
			writeJSONResponse(w, http.StatusGone, APIError{Error: err.Error() + "; read the image (format=checkpoint) and stream from its end", Oldest: &oldest})
			return
		}
		if len(batches) > 0 || ctx.Err() != nil {
			w.Header().Set("Content-Type", ContentTypeRecordBatch)
			w.Header().Set(HeaderNextOffset, strconv.FormatInt(next, 10))
			for _, chunk := range batches {
				w.Write(chunk)
			}
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
}
