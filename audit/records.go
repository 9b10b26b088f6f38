package audit

import "github.com/fjaledger/fja/verify/record"

// The record wire types are declared once, in verify/record, which
// producers, auditors, the client, the monitor and the recount share;
// audit keeps its names for them. Their fields are in the lexicographic
// order of their JSON names, so that encoding/json writes them in RFC 8785
// order (see Canonical): a test checks every kind against a JCS library.

// Kind is a record kind.
type Kind = record.Kind

// The record kinds of DESIGN.md §4.
const (
	KindDecision     = record.KindDecision
	KindConstitution = record.KindConstitution
	KindContest      = record.KindContest
	KindResolution   = record.KindResolution
	// KindAccess is the kind of an access record (DESIGN.md §4): one read
	// of private content, logged before the content is returned.
	KindAccess = record.KindAccess
	// Rule challenges, their responses and amendments (challenge.go,
	// amendment.go).
	KindChallenge         = record.KindChallenge
	KindChallengeResponse = record.KindChallengeResponse
	KindAmendment         = record.KindAmendment
)

type (
	Envelope          = record.Envelope
	Decision          = record.Decision
	System            = record.System
	Subject           = record.Subject
	Commitment        = record.Commitment
	Objective         = record.Objective
	ConstitutionRef   = record.ConstitutionRef
	AppliedRule       = record.AppliedRule
	Candidate         = record.Candidate
	ProvenanceFlag    = record.ProvenanceFlag
	Outcome           = record.Outcome
	ContestStanding   = record.ContestStanding
	Constitution      = record.Constitution
	ConstitutionRule  = record.ConstitutionRule
	DecisionPrivate   = record.DecisionPrivate
	DecisionRequest   = record.DecisionRequest
	Contest           = record.Contest
	ContestedDecision = record.ContestedDecision
	Grounds           = record.Grounds
	ContestRequest    = record.ContestRequest
	ContestGrounds    = record.ContestGrounds
	Resolution        = record.Resolution
	RuleChange        = record.RuleChange
	Access            = record.Access
	Actor             = record.Actor
	AccessedRecord    = record.AccessedRecord
	AccessView        = record.AccessView
	Group             = record.Group
	RuleRef           = record.RuleRef
	Evidence          = record.Evidence
	Challenge         = record.Challenge
	ChallengeRequest  = record.ChallengeRequest
	ChallengeResponse = record.ChallengeResponse
	Amendment         = record.Amendment
	ChallengeStanding = record.ChallengeStanding
	AmendmentChange   = record.AmendmentChange
	Motivation        = record.Motivation
)
