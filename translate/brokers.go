package translate

import (
	"fmt"
	"sort"

	"github.com/zk2kraft/zk2kraft/image"
	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/translate/records"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// SecurityProtocolCodes are Kafka's SecurityProtocol ids.
var SecurityProtocolCodes = map[string]int16{"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}

// IncarnationID derives the incarnation id of a ZooKeeper broker's
// registration: the same for the same ZooKeeper session of the broker (its
// /brokers/ids/<id> czxid), new when the broker re-registers.
func IncarnationID(clusterID string, brokerID int32, czxid int64) kafka.UUID {
	return kafka.DerivedUUID("zk2kraft-broker-incarnation", clusterID, fmt.Sprint(brokerID), fmt.Sprint(czxid))
}

// registrations translates /brokers/ids/<id> into the RegisterBrokerRecord
// Kafka's ClusterControlManager.registerBroker writes for a ZK broker that
// registers as a migrating broker (see the package comment for epoch,
// incarnation, fencing and features).
func (t *translator) registrations() {
	clusterID := ""
	if t.snap.ClusterID != nil {
		clusterID = t.snap.ClusterID.ID
	}
	brokers := make([]*zkreader.Broker, len(t.snap.Brokers))
	for i := range t.snap.Brokers {
		brokers[i] = &t.snap.Brokers[i]
	}
	sort.SliceStable(brokers, func(i, j int) bool { return brokers[i].ID < brokers[j].ID })
	for i, b := range brokers {
		path := fmt.Sprintf("/brokers/ids/%d", b.ID)
		if b.ID < 0 || i > 0 && brokers[i-1].ID == b.ID {
			t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-broker-id", Path: path,
				Expected: "a unique non-negative broker id", Message: fmt.Sprintf("broker id %d is negative or appears twice", b.ID)})
			t.skip(path, "broker-registration", "negative or duplicate broker id")
			continue
		}
		rec := &records.RegisterBrokerRecord{
			BrokerId:            b.ID,
			IsMigratingZkBroker: true,
			IncarnationId:       IncarnationID(clusterID, b.ID, b.Stat.Czxid),
			BrokerEpoch:         b.Stat.Czxid,
			Rack:                b.Rack,
			Fenced:              true,
			Features: []records.RegisterBrokerRecordBrokerFeature{{
				Name: image.MetadataVersionFeature, MinSupportedVersion: t.mv.Level, MaxSupportedVersion: t.mv.Level,
			}},
		}
		seen := map[string]bool{}
		ok := true
		for _, e := range b.Endpoints {
			proto, known := SecurityProtocolCodes[e.SecurityProtocol]
			switch {
			case !known:
				t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "unknown-security-protocol", Path: path, Field: "listener_security_protocol_map",
					Expected: "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
					Message:  fmt.Sprintf("listener %s has security protocol %q", e.Listener, e.SecurityProtocol)})
				ok = false
			case e.Port < 0 || e.Port > 65535:
				t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "bad-port", Path: path, Field: "endpoints",
					Expected: "a port 0…65535", Message: fmt.Sprintf("listener %s has port %d", e.Listener, e.Port)})
				ok = false
			case seen[e.Listener]:
				t.find(zkreader.Finding{Severity: zkreader.Blocker, Code: "duplicate-listener", Path: path, Field: "endpoints",
					Message: fmt.Sprintf("listener %s appears twice", e.Listener)})
				ok = false
			}
			seen[e.Listener] = true
			rec.EndPoints = append(rec.EndPoints, records.RegisterBrokerRecordBrokerEndpoint{
				Name: e.Listener, Host: e.Host, Port: uint16(e.Port), SecurityProtocol: proto,
			})
		}
		if !ok {
			t.skip(path, "broker-registration", "the registration cannot be translated (see findings)")
			continue
		}
		if len(b.Endpoints) == 0 {
			t.find(zkreader.Finding{Severity: zkreader.Warning, Code: "broker-without-endpoints", Path: path, Field: "endpoints",
				Message: "the broker registration has no endpoints; Kafka's controller rejects a migrating broker without its inter-broker listener"})
		}
		t.res.Registrations = append(t.res.Registrations, records.Versioned{Record: rec, Version: t.mv.RegisterBrokerRecordVersion()})
	}
	if len(brokers) == 0 {
		t.find(zkreader.Finding{Severity: zkreader.Warning, Code: "no-brokers", Path: "/brokers/ids",
			Message: "no broker is registered in ZooKeeper; Kafka's migration waits until at least one ZK broker registers"})
	}
}
