package kafka

import "strings"

// DefaultEntity is the znode name ZooKeeper-mode Kafka uses for a default
// config or quota entity (ZooKeeperInternals.DEFAULT_STRING).
const DefaultEntity = "<default>"

// ACL resource types as ZooKeeper names them (PascalCase of the Java enum) and
// the int8 codes AccessControlEntryRecord carries.
var ResourceTypeCodes = map[string]int8{
	"Topic": 2, "Group": 3, "Cluster": 4, "TransactionalId": 5, "DelegationToken": 6, "User": 7,
}

// ResourceTypeOrder is Kafka's ResourceType enum order, used to sort ACLs as
// AclAuthorizer.ResourceOrdering does.
var ResourceTypeOrder = []string{"Topic", "Group", "Cluster", "TransactionalId", "DelegationToken", "User"}

// ACL operations and their codes.
var OperationCodes = map[string]int8{
	"All": 2, "Read": 3, "Write": 4, "Create": 5, "Delete": 6, "Alter": 7, "Describe": 8,
	"ClusterAction": 9, "DescribeConfigs": 10, "AlterConfigs": 11, "IdempotentWrite": 12,
	"CreateTokens": 13, "DescribeTokens": 14,
}

// ACL permission types and their codes.
var PermissionTypeCodes = map[string]int8{"Deny": 2, "Allow": 3}

// Pattern types and their codes; ZooKeeper keeps LITERAL ACLs under
// /kafka-acl and PREFIXED ones under /kafka-acl-extended/prefixed.
var PatternTypeCodes = map[string]int8{"LITERAL": 3, "PREFIXED": 4}

// LookupEnum finds name in codes the way Kafka's SecurityUtils parses ACL
// enum names: the PascalCase form or the all-uppercase form (case-insensitive
// with underscores ignored). It returns the canonical key.
func LookupEnum(codes map[string]int8, name string) (string, int8, bool) {
	if c, ok := codes[name]; ok {
		return name, c, true
	}
	norm := strings.ReplaceAll(strings.ToLower(name), "_", "")
	for k, c := range codes {
		if strings.ToLower(k) == norm {
			return k, c, true
		}
	}
	return "", 0, false
}

// Config resource types (ConfigResource.Type) used in ConfigRecord.
const (
	ConfigResourceTopic  int8 = 2
	ConfigResourceBroker int8 = 4
)

// SCRAM mechanisms as ZooKeeper config keys and UserScramCredentialRecord codes.
var ScramMechanismCodes = map[string]int8{"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}

// Quota entity types (ClientQuotaEntity).
const (
	QuotaEntityUser     = "user"
	QuotaEntityClientID = "client-id"
	QuotaEntityIP       = "ip"
)

// ZkMigrationState values as ZkMigrationStateRecord carries them.
const (
	MigrationStateNone          int8 = 0
	MigrationStateMigration     int8 = 1
	MigrationStatePreMigration  int8 = 2
	MigrationStatePostMigration int8 = 3
)

// QuotaEntityRank orders the parts of a quota entity as Kafka writes them
// (user, then client-id, then ip); an unknown type ranks last (3).
func QuotaEntityRank(entityType string) int {
	switch entityType {
	case QuotaEntityUser:
		return 0
	case QuotaEntityClientID:
		return 1
	case QuotaEntityIP:
		return 2
	}
	return 3
}
