package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zk2kraft/zk2kraft/zkreader"
)

// zkConn is a ZooKeeper connection with the Kafka chroot applied to paths.
type zkConn struct {
	*zk.Conn
	chroot string
}

func (c *zkConn) p(path string) string { return c.chroot + path }

type slogZK struct{ l *slog.Logger }

func (s slogZK) Printf(format string, args ...any) { s.l.Debug(fmt.Sprintf(format, args...)) }

// dialZK opens a session with zkreader.Options' connect string, chroot,
// digest auth and TLS, and waits until it has a session.
func dialZK(ctx context.Context, o zkreader.Options, logger *slog.Logger) (*zkConn, error) {
	servers, chroot, err := zkreader.ParseConnect(o.Connect)
	if err != nil {
		return nil, err
	}
	if o.Chroot != "" {
		chroot = o.Chroot
	}
	chroot = strings.TrimRight(chroot, "/")
	timeout := o.SessionTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	dialer, err := o.TLS.Dialer()
	if err != nil {
		return nil, fmt.Errorf("ZooKeeper %w", err)
	}
	conn, events, err := zk.Connect(servers, timeout, zk.WithLogger(slogZK{logger}), zk.WithDialer(dialer))
	if err != nil {
		return nil, fmt.Errorf("connect to ZooKeeper %s: %w", strings.Join(servers, ","), err)
	}
	wait, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				go func() {
					for range events {
					}
				}()
				if o.Auth != "" {
					if err := conn.AddAuth("digest", []byte(o.Auth)); err != nil {
						conn.Close()
						return nil, fmt.Errorf("ZooKeeper digest auth: %w", err)
					}
				}
				return &zkConn{Conn: conn, chroot: chroot}, nil
			}
			if ev.State == zk.StateAuthFailed {
				conn.Close()
				return nil, fmt.Errorf("ZooKeeper %s: %w", strings.Join(servers, ","), zkreader.ErrAuthFailed)
			}
		case <-wait.Done():
			conn.Close()
			return nil, fmt.Errorf("connect to ZooKeeper %s: no session within %s", strings.Join(servers, ","), timeout+5*time.Second)
		}
	}
}

// ZnodeState is one znode's data and Stat, or its absence.
type ZnodeState struct {
	Exists         bool   `json:"exists"`
	Data           string `json:"data,omitempty"`
	Version        int32  `json:"version"`
	Mzxid          int64  `json:"mzxid,omitempty"`
	EphemeralOwner int64  `json:"ephemeral_owner,omitempty"`
}

// ZKControlState is what a ZooKeeper-mode controller (and a rollback) relies
// on: /controller, /controller_epoch and /migration.
type ZKControlState struct {
	Controller      ZnodeState `json:"controller"`
	ControllerEpoch ZnodeState `json:"controller_epoch"`
	Migration       ZnodeState `json:"migration"`
}

func readZnode(c *zkConn, path string) (ZnodeState, error) {
	data, st, err := c.Get(c.p(path))
	if errors.Is(err, zk.ErrNoNode) {
		return ZnodeState{}, nil
	}
	if err != nil {
		return ZnodeState{}, fmt.Errorf("read %s: %w", c.p(path), err)
	}
	return ZnodeState{Exists: true, Data: string(data), Version: st.Version, Mzxid: st.Mzxid, EphemeralOwner: st.EphemeralOwner}, nil
}

func readControlState(c *zkConn) (*ZKControlState, error) {
	var s ZKControlState
	var err error
	if s.Controller, err = readZnode(c, "/controller"); err != nil {
		return nil, err
	}
	if s.ControllerEpoch, err = readZnode(c, "/controller_epoch"); err != nil {
		return nil, err
	}
	if s.Migration, err = readZnode(c, "/migration"); err != nil {
		return nil, err
	}
	return &s, nil
}

// ReadControlState reads /controller, /controller_epoch and /migration.
func ReadControlState(ctx context.Context, o zkreader.Options) (*ZKControlState, error) {
	c, err := dialZK(ctx, o, slog.Default())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return readControlState(c)
}

// CutoverInfo is what the cutover did.
type CutoverInfo struct {
	KRaftControllerID    int32  `json:"kraft_controller_id"`
	KRaftControllerEpoch int32  `json:"kraft_controller_epoch"`
	OldControllerEpoch   int32  `json:"old_controller_epoch"`
	OldEpochZkVersion    int32  `json:"old_controller_epoch_zk_version"`
	NewControllerEpoch   int32  `json:"new_controller_epoch"`
	NewEpochZkVersion    int32  `json:"new_controller_epoch_zk_version"`
	PreviousController   string `json:"previous_controller,omitempty"`
	MigrationOffset      int64  `json:"kraft_metadata_offset"`
	MigrationEpoch       int32  `json:"kraft_metadata_epoch"`
	ClaimZxid            int64  `json:"claim_zxid,omitempty"` // the zxid of the claim's multi
	At                   string `json:"at,omitempty"`
}

// ErrControllerMoved means /controller holds a KRaft controller with the same
// or a newer epoch than ours.
var ErrControllerMoved = errors.New("controller moved")

type controllerJSON struct {
	Version              int    `json:"version"`
	BrokerID             int32  `json:"brokerid"`
	Timestamp            string `json:"timestamp"`
	KRaftControllerEpoch *int32 `json:"kraftControllerEpoch,omitempty"`
}

// claimController takes ZooKeeper's controller role for a KRaft controller as
// KafkaZkClient.tryRegisterKRaftControllerAsActiveController does (spec §5.4):
// one multi bumping /controller_epoch (conditioned on its version), deleting
// the old /controller (its version) and creating a persistent /controller.
// A ZooKeeper-mode controller's later writes, conditioned on the old
// /controller_epoch version, fail. Calling it again after it succeeded (same
// id and epoch) changes nothing.
func claimController(c *zkConn, id, epoch int32, info *CutoverInfo) error {
	ceData, ceStat, err := c.Get(c.p("/controller_epoch"))
	if errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("%s: no ZooKeeper controller epoch present (is this a Kafka cluster's ZooKeeper?)", c.p("/controller_epoch"))
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", c.p("/controller_epoch"), err)
	}
	ce, err := strconv.ParseInt(strings.TrimSpace(string(ceData)), 10, 32)
	if err != nil {
		return fmt.Errorf("%s: data %q: want a decimal controller epoch", c.p("/controller_epoch"), ceData)
	}
	cData, cStat, err := c.Get(c.p("/controller"))
	exists := err == nil
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("read %s: %w", c.p("/controller"), err)
	}
	if exists {
		var cur controllerJSON
		if json.Unmarshal(cData, &cur) == nil && cur.KRaftControllerEpoch != nil && *cur.KRaftControllerEpoch >= 0 {
			if cur.BrokerID == id && *cur.KRaftControllerEpoch == epoch && cStat.EphemeralOwner == 0 {
				// Already ours (a rerun after the claim).
				info.NewControllerEpoch, info.NewEpochZkVersion, info.ClaimZxid = int32(ce), ceStat.Version, cStat.Czxid
				return nil
			}
			if *cur.KRaftControllerEpoch >= epoch {
				return fmt.Errorf("%w: cannot register KRaft controller %d with epoch %d: %s holds controller %d with the same or newer epoch %d",
					ErrControllerMoved, id, epoch, c.p("/controller"), cur.BrokerID, *cur.KRaftControllerEpoch)
			}
		}
		info.PreviousController = string(cData)
	}
	info.OldControllerEpoch, info.OldEpochZkVersion = int32(ce), ceStat.Version
	e := epoch
	payload, _ := json.Marshal(controllerJSON{Version: 2, BrokerID: id, Timestamp: strconv.FormatInt(time.Now().UnixMilli(), 10), KRaftControllerEpoch: &e})
	acl, _, err := c.GetACL(c.p("/controller_epoch"))
	if err != nil || len(acl) == 0 {
		acl = zk.WorldACL(zk.PermAll)
	}
	ops := []any{&zk.SetDataRequest{Path: c.p("/controller_epoch"), Data: []byte(strconv.FormatInt(ce+1, 10)), Version: ceStat.Version}}
	if exists {
		ops = append(ops, &zk.DeleteRequest{Path: c.p("/controller"), Version: cStat.Version})
	}
	ops = append(ops, &zk.CreateRequest{Path: c.p("/controller"), Data: payload, Acl: acl, Flags: 0})
	res, err := c.Multi(ops...)
	if err != nil {
		return fmt.Errorf("claim the controller role (multi on %s and %s): %w (the ZooKeeper controller changed meanwhile; retry)", c.p("/controller_epoch"), c.p("/controller"), err)
	}
	info.NewControllerEpoch = int32(ce + 1)
	if len(res) > 0 && res[0].Stat != nil {
		info.NewEpochZkVersion = res[0].Stat.Version
		info.ClaimZxid = res[0].Stat.Mzxid
	} else {
		info.NewEpochZkVersion = ceStat.Version + 1
	}
	return nil
}

// migrationJSON is /migration's version 0 data (ZkData MigrationZNode).
type migrationJSON struct {
	Version              int   `json:"version"`
	KRaftControllerID    int32 `json:"kraft_controller_id"`
	KRaftControllerEpoch int32 `json:"kraft_controller_epoch"`
	KRaftMetadataOffset  int64 `json:"kraft_metadata_offset"`
	KRaftMetadataEpoch   int32 `json:"kraft_metadata_epoch"`
}

// writeMigrationZnode records the migration state in /migration: created if
// absent, else set with a CAS on its version; guarded by our claimed
// /controller_epoch version, as Kafka guards every migration write.
func writeMigrationZnode(c *zkConn, info *CutoverInfo) error {
	payload, _ := json.Marshal(migrationJSON{Version: 0, KRaftControllerID: info.KRaftControllerID, KRaftControllerEpoch: info.KRaftControllerEpoch,
		KRaftMetadataOffset: info.MigrationOffset, KRaftMetadataEpoch: info.MigrationEpoch})
	path := c.p("/migration")
	data, st, err := c.Get(path)
	check := &zk.CheckVersionRequest{Path: c.p("/controller_epoch"), Version: info.NewEpochZkVersion}
	switch {
	case errors.Is(err, zk.ErrNoNode):
		_, err = c.Multi(check, &zk.CreateRequest{Path: path, Data: payload, Acl: zk.WorldACL(zk.PermAll)})
	case err != nil:
		return fmt.Errorf("read %s: %w", path, err)
	case string(data) == string(payload):
		return nil
	default:
		_, err = c.Multi(check, &zk.SetDataRequest{Path: path, Data: payload, Version: st.Version})
	}
	if err != nil {
		return fmt.Errorf("write %s (guarded by %s version %d): %w", path, c.p("/controller_epoch"), info.NewEpochZkVersion, err)
	}
	return nil
}

// checkControllerID refuses a KRaft controller id that is also a ZooKeeper
// broker's id: Kafka requires controller node ids distinct from broker ids,
// and ZooKeeper brokers read /controller's brokerid as the controller.
func checkControllerID(ctx context.Context, o zkreader.Options, id int32, logger *slog.Logger) error {
	c, err := dialZK(ctx, o, logger)
	if err != nil {
		return fmt.Errorf("migrate: cutover: %w", err)
	}
	defer c.Close()
	ids, _, err := c.Children(c.p("/brokers/ids"))
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("migrate: cutover: list %s: %w", c.p("/brokers/ids"), err)
	}
	for _, b := range ids {
		if b == strconv.Itoa(int(id)) {
			return fmt.Errorf("migrate: cutover refused: KRaft controller id %d is also broker %s's id (%s/%s); KRaft controller node ids must differ from every broker id: set the KRaft controller id (--kraft-controller-id) to the node.id the Kafka controllers will use", id, b, c.p("/brokers/ids"), b)
		}
	}
	return nil
}
