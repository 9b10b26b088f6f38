package api

// Hooks for the external tests.
var (
	AppendReceiptJSON = appendReceiptJSON
	AppendBatchJSON   = appendBatchJSON
)

var TLogProofText = tlogProofText
