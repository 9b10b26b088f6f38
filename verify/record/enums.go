package record

import (
	"regexp"
	"slices"
)

// The enums and limits of the contest and resolution schemas
// (schemas/contest.v1.json, resolution.v1.json, append-contest.v1.json).
var (
	Remedies           = []string{"reconsider", "explain", "correct"}
	ResolutionOutcomes = []string{"upheld", "overturned", "partially_overturned", "withdrawn"}
	RuleChangeKinds    = []string{"add", "amend", "remove"}
)

// MaxGroundsText is the most characters a contest's grounds text holds.
const MaxGroundsText = 32768

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// IsID reports whether s has the form of an id (common.v1.json "id"): 1
// to 128 letters, digits, '.', '_', ':' or '-'.
func IsID(s string) bool { return idPattern.MatchString(s) }

// OneOf reports whether v is in the enum set.
func OneOf(v string, set []string) bool { return slices.Contains(set, v) }
