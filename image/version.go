package image

import (
	"fmt"
	"math"
	"strings"
)

// MetadataVersion is a KRaft metadata.version: its name ("3.9-IV0") and the
// feature level a FeatureLevelRecord carries (21). It decides which record
// versions a writer uses (server-common MetadataVersion.java, branch 3.9).
type MetadataVersion struct {
	Name  string
	Level int16
}

// metadataVersions is Kafka's MetadataVersion enum from the first KRaft
// version (3.0-IV1, level 1) to 4.0-IV0 (level 22).
var metadataVersions = []MetadataVersion{
	{"3.0-IV1", 1}, {"3.1-IV0", 2}, {"3.2-IV0", 3}, {"3.3-IV0", 4}, {"3.3-IV1", 5},
	{"3.3-IV2", 6}, {"3.3-IV3", 7}, {"3.4-IV0", 8}, {"3.5-IV0", 9}, {"3.5-IV1", 10},
	{"3.5-IV2", 11}, {"3.6-IV0", 12}, {"3.6-IV1", 13}, {"3.6-IV2", 14}, {"3.7-IV0", 15},
	{"3.7-IV1", 16}, {"3.7-IV2", 17}, {"3.7-IV3", 18}, {"3.7-IV4", 19}, {"3.8-IV0", 20},
	{"3.9-IV0", 21}, {"4.0-IV0", 22},
}

// Well-known metadata versions.
var (
	MV3_4_IV0 = MetadataVersion{"3.4-IV0", 8}
	MV3_5_IV2 = MetadataVersion{"3.5-IV2", 11}
	MV3_6_IV1 = MetadataVersion{"3.6-IV1", 13}
	MV3_6_IV2 = MetadataVersion{"3.6-IV2", 14}
	MV3_7_IV0 = MetadataVersion{"3.7-IV0", 15}
	MV3_7_IV2 = MetadataVersion{"3.7-IV2", 17}
	MV3_9_IV0 = MetadataVersion{"3.9-IV0", 21}
	MV4_0_IV0 = MetadataVersion{"4.0-IV0", 22}
	// LatestProduction is Kafka 3.9's MetadataVersion.LATEST_PRODUCTION.
	LatestProduction = MV3_9_IV0
)

// MetadataVersionFeature is the feature name of the metadata version.
const MetadataVersionFeature = "metadata.version"

// ParseMetadataVersion accepts a full name ("3.7-IV2"), a release ("3.7",
// meaning the last version of that release, as kafka-storage --release-version
// does) or a feature level ("17").
func ParseMetadataVersion(s string) (MetadataVersion, error) {
	s = strings.TrimSpace(s)
	for _, mv := range metadataVersions {
		if strings.EqualFold(mv.Name, s) {
			return mv, nil
		}
	}
	var found MetadataVersion
	for _, mv := range metadataVersions {
		if strings.HasPrefix(mv.Name, s+"-IV") {
			found = mv // the list is ascending: keep the last
		}
	}
	if found.Level != 0 {
		return found, nil
	}
	var level int
	if _, err := fmt.Sscanf(s, "%d", &level); err == nil && fmt.Sprint(level) == s && level >= 1 && level <= math.MaxInt16 {
		if mv, ok := MetadataVersionFromLevel(int16(level)); ok {
			return mv, nil
		}
	}
	return MetadataVersion{}, fmt.Errorf("metadata version %q: want a name like 3.9-IV0 (3.0-IV1 … 4.0-IV0), a release like 3.9, or a feature level 1…22", s)
}

// MetadataVersionFromLevel finds the version with the given feature level.
func MetadataVersionFromLevel(level int16) (MetadataVersion, bool) {
	for _, mv := range metadataVersions {
		if mv.Level == level {
			return mv, true
		}
	}
	return MetadataVersion{}, false
}

func (mv MetadataVersion) String() string { return mv.Name }

// AtLeast reports whether mv is o or newer.
func (mv MetadataVersion) AtLeast(o MetadataVersion) bool { return mv.Level >= o.Level }

// PartitionRecordVersion is MetadataVersion.partitionRecordVersion(): 2 with
// ELR (4.0-IV0), 1 with directory assignment (3.7-IV2), else 0. The same
// numbers apply to PartitionChangeRecord.
func (mv MetadataVersion) PartitionRecordVersion() int16 {
	switch {
	case mv.AtLeast(MV4_0_IV0):
		return 2
	case mv.AtLeast(MV3_7_IV2):
		return 1
	}
	return 0
}

// RegisterBrokerRecordVersion is MetadataVersion.registerBrokerRecordVersion().
func (mv MetadataVersion) RegisterBrokerRecordVersion() int16 {
	switch {
	case mv.AtLeast(MV3_7_IV2):
		return 3
	case mv.AtLeast(MV3_4_IV0):
		return 2
	case mv.AtLeast(MetadataVersion{"3.3-IV3", 7}):
		return 1
	}
	return 0
}

// DirectoryAssignmentSupported is MetadataVersion.isDirectoryAssignmentSupported().
func (mv MetadataVersion) DirectoryAssignmentSupported() bool { return mv.AtLeast(MV3_7_IV2) }

// MigrationSupported is MetadataVersion.isMigrationSupported() (3.4-IV0).
func (mv MetadataVersion) MigrationSupported() bool { return mv.AtLeast(MV3_4_IV0) }

// ScramSupported is MetadataVersion.isScramSupported() (3.5-IV2).
func (mv MetadataVersion) ScramSupported() bool { return mv.AtLeast(MV3_5_IV2) }

// DelegationTokenSupported is MetadataVersion.isDelegationTokenSupported() (3.6-IV2).
func (mv MetadataVersion) DelegationTokenSupported() bool { return mv.AtLeast(MV3_6_IV2) }

// MetadataTransactionSupported is MetadataVersion.isMetadataTransactionSupported() (3.6-IV1).
func (mv MetadataVersion) MetadataTransactionSupported() bool { return mv.AtLeast(MV3_6_IV1) }

// ControllerRegistrationSupported is isControllerRegistrationSupported() (3.7-IV0).
func (mv MetadataVersion) ControllerRegistrationSupported() bool { return mv.AtLeast(MV3_7_IV0) }

// ElrSupported is isElrSupported() (4.0-IV0).
func (mv MetadataVersion) ElrSupported() bool { return mv.AtLeast(MV4_0_IV0) }
