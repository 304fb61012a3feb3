package zkreader

// A minimal ZooKeeper client wire protocol (jute): just what a bulk reader
// needs — the session handshake, digest auth, ping, closeSession, getData,
// getChildren/getChildren2 and multiRead (opcode 22, ZooKeeper 3.6+), which
// go-zookeeper v1.0.4 does not implement. Layouts follow ZooKeeper's
// zookeeper.jute (ConnectRequest, RequestHeader, ReplyHeader, GetDataRequest,
// GetDataResponse, GetChildren2Response, MultiHeader, ErrorResult) and
// MultiOperationRecord / MultiResponse.

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ZooKeeper opcodes used here (ZooDefs.OpCode).
const (
	opGetData      int32 = 4
	opGetChildren  int32 = 8
	opPing         int32 = 11
	opGetChildren2 int32 = 12
	opMultiRead    int32 = 22
	opAuth         int32 = 100
	opCloseSession int32 = -11
)

// Special xids (ClientCnxn).
const (
	xidWatcher int32 = -1
	xidPing    int32 = -2
	xidAuth    int32 = -4
)

// ZooKeeper error codes (KeeperException.Code) the reader distinguishes.
const (
	errOK             int32 = 0
	errUnimplemented  int32 = -6
	errNoNode         int32 = -101
	errNoAuth         int32 = -102
	errSessionExpired int32 = -112
	errAuthFailed     int32 = -115
)

func zkErrName(code int32) string {
	switch code {
	case errOK:
		return "ok"
	case -1:
		return "SystemError"
	case -4:
		return "ConnectionLoss"
	case -5:
		return "MarshallingError"
	case errUnimplemented:
		return "Unimplemented"
	case -8:
		return "BadArguments"
	case errNoNode:
		return "NoNode"
	case errNoAuth:
		return "NoAuth"
	case errSessionExpired:
		return "SessionExpired"
	case errAuthFailed:
		return "AuthFailed"
	}
	return fmt.Sprintf("error %d", code)
}

// maxFrame bounds a reply frame (a multiRead of many large znodes).
const maxFrame = 256 << 20

const statLen = 68

// enc appends jute primitives.
type enc []byte

func (e enc) i32(v int32) enc  { return binary.BigEndian.AppendUint32(e, uint32(v)) }
func (e enc) i64(v int64) enc  { return binary.BigEndian.AppendUint64(e, uint64(v)) }
func (e enc) str(s string) enc { return append(e.i32(int32(len(s))), s...) }
func (e enc) buf(b []byte) enc { return append(e.i32(int32(len(b))), b...) }
func (e enc) boolean(b bool) enc {
	if b {
		return append(e, 1)
	}
	return append(e, 0)
}

// dec reads jute primitives; the first error sticks.
type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("reply truncated")

func (d *dec) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b) < n {
		d.err = errShort
		return false
	}
	return true
}

func (d *dec) i32() int32 {
	if !d.need(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}

func (d *dec) i64() int64 {
	if !d.need(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *dec) boolean() bool {
	if !d.need(1) {
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}

// buffer returns a slice into the frame (nil for a -1 length).
func (d *dec) buffer() []byte {
	n := d.i32()
	if d.err != nil || n == -1 {
		return nil
	}
	if !d.need(int(n)) {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string { return string(d.buffer()) }

func (d *dec) strings() []string {
	n := d.i32()
	if d.err != nil || n <= 0 {
		return nil
	}
	if int(n) > len(d.b)/4 {
		d.err = errShort
		return nil
	}
	out := make([]string, 0, n)
	for i := int32(0); i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

func (d *dec) stat() Stat {
	if !d.need(statLen) {
		return Stat{}
	}
	var s Stat
	s.Czxid = d.i64()
	s.Mzxid = d.i64()
	s.Ctime = d.i64()
	s.Mtime = d.i64()
	s.Version = d.i32()
	s.Cversion = d.i32()
	d.i32() // aversion
	s.EphemeralOwner = d.i64()
	d.i32() // dataLength
	d.i32() // numChildren
	s.Pzxid = d.i64()
	return s
}

// connectRequest encodes ConnectRequest (protocol version 0).
func connectRequest(lastZxid int64, timeoutMs int32, sessionID int64, passwd []byte) []byte {
	if len(passwd) == 0 {
		passwd = make([]byte, 16)
	}
	return enc(nil).i32(0).i64(lastZxid).i32(timeoutMs).i64(sessionID).buf(passwd).boolean(false)
}

type connectResponse struct {
	timeoutMs int32
	sessionID int64
	passwd    []byte
}

func decodeConnectResponse(b []byte) (connectResponse, error) {
	d := dec{b: b}
	d.i32() // protocol version
	r := connectResponse{timeoutMs: d.i32(), sessionID: d.i64()}
	r.passwd = append([]byte(nil), d.buffer()...)
	// readOnly is optional (older servers omit it)
	return r, d.err
}

// requestHeader starts a request body: xid, opcode.
func requestHeader(xid, op int32) enc { return enc(nil).i32(xid).i32(op) }

func authRequest(scheme string, auth []byte) []byte {
	return requestHeader(xidAuth, opAuth).i32(0).str(scheme).buf(auth)
}

func pathRequest(xid, op int32, path string) []byte {
	return requestHeader(xid, op).str(path).boolean(false)
}

// multiReadRequest encodes a MultiOperationRecord of getData/getChildren ops.
func multiReadRequest(xid int32, ops []*op, chroot string) []byte {
	n := 32
	for _, o := range ops {
		n += 14 + len(chroot) + len(o.path)
	}
	e := make(enc, 0, n)
	e = e.i32(xid).i32(opMultiRead)
	for _, o := range ops {
		typ := opGetData
		if o.kind == kindChildren {
			typ = opGetChildren
		}
		e = e.i32(typ).boolean(false).i32(-1)
		if o.path == "/" && chroot != "" {
			e = e.str(chroot)
		} else {
			e = e.i32(int32(len(chroot) + len(o.path)))
			e = append(e, chroot...)
			e = append(e, o.path...)
		}
		e = e.boolean(false)
	}
	return e.i32(-1).boolean(true).i32(-1)
}

// replyHeader is ReplyHeader: xid, zxid, err.
type replyHeader struct {
	xid  int32
	zxid int64
	err  int32
}

func decodeReplyHeader(d *dec) replyHeader {
	return replyHeader{xid: d.i32(), zxid: d.i64(), err: d.i32()}
}
