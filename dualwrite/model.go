package dualwrite

import (
	"sort"
	"strconv"
	"strings"

	"github.com/zk2kraft/zk2kraft/kafka"
	"github.com/zk2kraft/zk2kraft/zkreader"
)

// What the mirror watches (paths relative to the chroot). Every list below
// gets a child watch; every object znode a data watch; a znode that does not
// exist yet an exists watch, so its creation is seen.
const (
	pathTopics       = "/brokers/topics"
	pathDeleteTopics = "/admin/delete_topics"
	pathConfigTopics = "/config/topics"
	pathConfigBroker = "/config/brokers"
	pathConfigUsers  = "/config/users"
	pathConfigClient = "/config/clients"
	pathConfigIPs    = "/config/ips"
	pathACLLiteral   = "/kafka-acl"
	pathACLPrefixed  = "/kafka-acl-extended/prefixed"
	pathProducerID   = "/latest_producer_id_block"
	pathTokens       = "/delegation_token/tokens"
)

// rootLists are the lists the watch-arming walk starts from.
var rootLists = []string{pathTopics, pathDeleteTopics, pathConfigTopics, pathConfigBroker, pathConfigUsers,
	pathConfigClient, pathConfigIPs, pathACLLiteral, pathACLPrefixed, pathTokens}

// objKind is the kind of a mirrored object: the unit a delta is computed for.
type objKind uint8

const (
	kindTopic        objKind = iota + 1 // a topic: id, partitions, configs
	kindPartition                       // one partition of a topic
	kindTopicConfig                     // a topic's configs
	kindBrokerConfig                    // /config/brokers/<id|<default>>
	kindQuota                           // /config/users|clients|ips/... (quotas and SCRAM)
	kindACL                             // one ACL resource znode
	kindProducerID                      // /latest_producer_id_block
	kindToken                           // one delegation token
)

func (k objKind) String() string {
	switch k {
	case kindTopic:
		return "topic"
	case kindPartition:
		return "partition"
	case kindTopicConfig:
		return "topic-config"
	case kindBrokerConfig:
		return "broker-config"
	case kindQuota:
		return "quota"
	case kindACL:
		return "acl"
	case kindProducerID:
		return "producer-id"
	case kindToken:
		return "delegation-token"
	}
	return "unknown"
}

// objKey names one mirrored object. name is a topic name, a broker config
// znode name, a quota znode path relative to /config ("users/alice"), an
// ACL znode path, or a token id; part is a partition id (kindPartition).
type objKey struct {
	kind objKind
	name string
	part int32
}

func (k objKey) String() string {
	if k.kind == kindPartition {
		return k.kind.String() + " " + k.name + "-" + strconv.Itoa(int(k.part))
	}
	if k.name == "" {
		return k.kind.String()
	}
	return k.kind.String() + " " + k.name
}

// owner is the topic whose pending reads an object waits for ("" for none):
// the reads of the topic znode and the state reads a new assignment starts
// (see holdOwner), so a new topic or partition is never written half read.
func (k objKey) owner() string {
	switch k.kind {
	case kindTopic, kindPartition, kindTopicConfig:
		return k.name
	}
	return ""
}

// pathKind classifies a watched path.
type pathKind uint8

const (
	pUnknown pathKind = iota
	pTopicList
	pDeleteList
	pTopic
	pState
	pTopicConfigList
	pTopicConfig
	pBrokerConfigList
	pBrokerConfig
	pUserList
	pUser
	pUserClientList
	pUserClient
	pClientList
	pClient
	pIPList
	pIP
	pACLTypeList // /kafka-acl or /kafka-acl-extended/prefixed
	pACLList     // .../<ResourceType>
	pACL         // .../<ResourceType>/<name>
	pProducerID
	pTokenList
	pToken
)

// parsedPath is a classified watched path.
type parsedPath struct {
	kind  pathKind
	topic string // pTopic, pState, pTopicConfig
	part  int32  // pState
	name  string // last element for config/quota/acl/token znodes
	quota string // quota znode relative to /config ("users/alice", "users/a/clients/b")
}

// classify maps a path (relative to the chroot) to what it holds.
func classify(p string) parsedPath {
	switch p {
	case pathTopics:
		return parsedPath{kind: pTopicList}
	case pathDeleteTopics:
		return parsedPath{kind: pDeleteList}
	case pathConfigTopics:
		return parsedPath{kind: pTopicConfigList}
	case pathConfigBroker:
		return parsedPath{kind: pBrokerConfigList}
	case pathConfigUsers:
		return parsedPath{kind: pUserList}
	case pathConfigClient:
		return parsedPath{kind: pClientList}
	case pathConfigIPs:
		return parsedPath{kind: pIPList}
	case pathACLLiteral, pathACLPrefixed:
		return parsedPath{kind: pACLTypeList}
	case pathProducerID:
		return parsedPath{kind: pProducerID}
	case pathTokens:
		return parsedPath{kind: pTokenList}
	}
	el := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for _, e := range el {
		if e == "" {
			return parsedPath{kind: pUnknown} // ZooKeeper has no such path
		}
	}
	switch {
	case strings.HasPrefix(p, pathTopics+"/"):
		// brokers topics <t> [partitions <p> state]
		if len(el) == 3 {
			return parsedPath{kind: pTopic, topic: el[2]}
		}
		if len(el) == 6 && el[3] == "partitions" && el[5] == "state" {
			n, err := strconv.ParseInt(el[4], 10, 32)
			if err == nil && n >= 0 {
				return parsedPath{kind: pState, topic: el[2], part: int32(n)}
			}
		}
	case strings.HasPrefix(p, pathConfigTopics+"/") && len(el) == 3:
		return parsedPath{kind: pTopicConfig, topic: el[2], name: el[2]}
	case strings.HasPrefix(p, pathConfigBroker+"/") && len(el) == 3:
		return parsedPath{kind: pBrokerConfig, name: el[2]}
	case strings.HasPrefix(p, pathConfigUsers+"/"):
		switch {
		case len(el) == 3:
			return parsedPath{kind: pUser, name: el[2], quota: "users/" + el[2]}
		case len(el) == 4 && el[3] == "clients":
			return parsedPath{kind: pUserClientList, name: el[2]}
		case len(el) == 5 && el[3] == "clients":
			return parsedPath{kind: pUserClient, name: el[4], quota: "users/" + el[2] + "/clients/" + el[4]}
		}
	case strings.HasPrefix(p, pathConfigClient+"/") && len(el) == 3:
		return parsedPath{kind: pClient, name: el[2], quota: "clients/" + el[2]}
	case strings.HasPrefix(p, pathConfigIPs+"/") && len(el) == 3:
		return parsedPath{kind: pIP, name: el[2], quota: "ips/" + el[2]}
	case strings.HasPrefix(p, pathACLLiteral+"/"):
		if len(el) == 2 {
			return parsedPath{kind: pACLList, name: el[1]}
		}
		if len(el) == 3 {
			return parsedPath{kind: pACL, name: el[2]}
		}
	case strings.HasPrefix(p, pathACLPrefixed+"/"):
		if len(el) == 3 {
			return parsedPath{kind: pACLList, name: el[2]}
		}
		if len(el) == 4 {
			return parsedPath{kind: pACL, name: el[3]}
		}
	case strings.HasPrefix(p, pathTokens+"/") && len(el) == 3:
		return parsedPath{kind: pToken, name: el[2]}
	}
	return parsedPath{kind: pUnknown}
}

// isList reports whether a path kind is read with a child watch.
func (k pathKind) isList() bool {
	switch k {
	case pTopicList, pDeleteList, pTopicConfigList, pBrokerConfigList, pUserList, pUserClientList,
		pClientList, pIPList, pACLTypeList, pACLList, pTokenList:
		return true
	}
	return false
}

// watchExists reports whether a missing znode of this kind gets an exists
// watch (fixed paths that may appear later). Children of a watched list do
// not: the list's child watch sees them come back.
func (k pathKind) watchExists() bool {
	switch k {
	case pState, pProducerID:
		return true
	}
	return k.isList()
}

// topicZK is what ZooKeeper holds for one topic.
type topicZK struct {
	topic  *zkreader.Topic // parsed topic znode; nil while unread, absent or malformed
	states map[int32]*zkreader.PartitionState
}

// quotaZK is one /config/users|clients|ips znode.
type quotaZK struct {
	quota *zkreader.ClientQuota
	scram []zkreader.ScramCredential
	mtime int64
}

// model is the mirror's parsed copy of the watched part of ZooKeeper. It is
// rebuilt from scratch by every watch-arming walk.
type model struct {
	topics      map[string]*topicZK
	pending     map[string]bool
	topicCfg    map[string]*zkreader.EntityConfig
	brokerCfg   map[string]*zkreader.EntityConfig
	quotas      map[string]*quotaZK // by quota path relative to /config
	acls        map[string]*zkreader.ACLResource
	producerID  *zkreader.ProducerIDBlock
	tokens      map[string]*zkreader.DelegationToken
	children    map[string]map[string]bool // list path -> children seen
	mzxid       map[string]int64           // data path -> mzxid of the value held
	assignments map[string]map[int32]bool  // topic -> partitions of its assignment
}

func newModel() *model {
	return &model{
		topics:      map[string]*topicZK{},
		pending:     map[string]bool{},
		topicCfg:    map[string]*zkreader.EntityConfig{},
		brokerCfg:   map[string]*zkreader.EntityConfig{},
		quotas:      map[string]*quotaZK{},
		acls:        map[string]*zkreader.ACLResource{},
		tokens:      map[string]*zkreader.DelegationToken{},
		children:    map[string]map[string]bool{},
		mzxid:       map[string]int64{},
		assignments: map[string]map[int32]bool{},
	}
}

// topicSnapshot returns the topic as zkreader's bulk read would: partitions
// with their states. nil when the topic znode is absent or malformed.
func (m *model) topicSnapshot(name string, only *int32) *zkreader.Topic {
	tz := m.topics[name]
	if tz == nil || tz.topic == nil {
		return nil
	}
	t := *tz.topic
	t.Partitions = nil
	for _, p := range tz.topic.Partitions {
		if only != nil && p.ID != *only {
			continue
		}
		p.State = tz.states[p.ID]
		t.Partitions = append(t.Partitions, p)
	}
	return &t
}

// statePath is a partition state znode.
func statePath(topic string, p int32) string {
	return pathTopics + "/" + topic + "/partitions/" + strconv.Itoa(int(p)) + "/state"
}

// aclPath is where ZooKeeper keeps an ACL resource.
func aclPath(resourceType int8, patternType int8, name string) (string, bool) {
	typeName := ""
	for n, c := range kafka.ResourceTypeCodes {
		if c == resourceType {
			typeName = n
		}
	}
	if typeName == "" {
		return "", false
	}
	switch patternType {
	case kafka.PatternTypeCodes["LITERAL"]:
		return pathACLLiteral + "/" + typeName + "/" + name, true
	case kafka.PatternTypeCodes["PREFIXED"]:
		return pathACLPrefixed + "/" + typeName + "/" + name, true
	}
	return "", false
}

// quotaPathOf is the /config-relative znode of a quota entity.
func quotaPathOf(parts []entityPart) (string, bool) {
	name := func(p entityPart) string {
		if p.name == nil {
			return kafka.DefaultEntity
		}
		return kafka.Sanitize(*p.name)
	}
	switch {
	case len(parts) == 1 && parts[0].typ == kafka.QuotaEntityUser:
		return "users/" + name(parts[0]), true
	case len(parts) == 1 && parts[0].typ == kafka.QuotaEntityClientID:
		return "clients/" + name(parts[0]), true
	case len(parts) == 1 && parts[0].typ == kafka.QuotaEntityIP:
		return "ips/" + name(parts[0]), true
	case len(parts) == 2 && parts[0].typ == kafka.QuotaEntityUser && parts[1].typ == kafka.QuotaEntityClientID:
		return "users/" + name(parts[0]) + "/clients/" + name(parts[1]), true
	}
	return "", false
}

type entityPart struct {
	typ  string
	name *string
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
