package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/quorum"
	"github.com/zk2kraft/zk2kraft/translate/records"
)

// Append encodes recs as one RecordBatch and appends it with meta (merged
// into the quorum's Meta atomically with the records; "" deletes a key). The
// batch is applied all-or-nothing: a record contradicting the image fails the
// whole batch with a *RejectedError. recs may be empty (a Meta-only append).
func (c *Client) Append(ctx context.Context, recs []records.Versioned, meta map[string]string, opts AppendOptions) (Offsets, error) {
	var b []byte
	if len(recs) > 0 {
		var err error
		b, err = quorum.EncodeBatch(recs, 0, 0, time.Now().UnixMilli())
		if err != nil {
			return Offsets{}, fmt.Errorf("quorum append: %w", err)
		}
		if len(b) > quorum.MaxBatchBytes {
			return Offsets{}, fmt.Errorf("quorum append: batch of %d records is %d bytes, over the %d byte limit: split it", len(recs), len(b), quorum.MaxBatchBytes)
		}
	}
	return c.AppendBatch(ctx, b, meta, opts)
}

// Image reads the quorum's image (a consistent read on the leader, as a
// checkpoint) and returns it with its position.
func (c *Client) Image(ctx context.Context) (*image.Image, quorum.Position, error) {
	var im *image.Image
	var pos quorum.Position
	q := url.Values{"consistent": {"true"}, "format": {"checkpoint"}}
	err := c.getStream(ctx, "/v1/image", q, func(body io.Reader, h http.Header) error {
		pos = positionOf(h)
		var err error
		im, err = quorum.ReadImage(body)
		return err
	})
	if err != nil {
		return nil, pos, fmt.Errorf("quorum image: %w", err)
	}
	return im, pos, nil
}
