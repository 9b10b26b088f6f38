package otlp

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Encoding is one of the two OTLP/HTTP payload encodings.
type Encoding int

const (
	// Protobuf is binary protobuf, Content-Type application/x-protobuf.
	Protobuf Encoding = iota
	// JSON is the OTLP JSON mapping (hex trace and span ids, lowerCamelCase
	// or snake_case field names), Content-Type application/json.
	JSON
)

// ContentType is the Content-Type of answers in encoding e.
func (e Encoding) ContentType() string {
	if e == JSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// encodingOf reads the Content-Type of an OTLP/HTTP request.
func encodingOf(contentType string) (Encoding, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return Protobuf, fmt.Errorf("Content-Type %q does not parse (%v): want application/x-protobuf or application/json", contentType, err)
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return Protobuf, nil
	case "application/json":
		return JSON, nil
	}
	return Protobuf, fmt.Errorf("Content-Type %q: want application/x-protobuf or application/json", contentType)
}

// inflate undoes the request's Content-Encoding (none, identity or gzip),
// refusing to produce more than limit bytes (a gzip bomb costs at most
// limit bytes of memory).
func inflate(contentEncoding string, body []byte, limit int64) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
	default:
		return nil, &requestError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Encoding %q: want gzip or none", contentEncoding)}
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, &requestError{status: http.StatusBadRequest, msg: "Content-Encoding gzip, but the body is not gzip: " + err.Error()}
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, &requestError{status: http.StatusBadRequest, msg: "Content-Encoding gzip: the body does not inflate: " + err.Error()}
	}
	if int64(len(out)) > limit {
		return nil, &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("the gzip body inflates to more than the limit of %d bytes", limit)}
	}
	return out, nil
}

// requestError is a whole request refused: answered with status and an
// OTLP Status message, nothing logged.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// otlpMessage is an OTLP export request or response of pdata.
type otlpMessage interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// decodeInto decodes b in encoding enc into m, an OTLP request called what.
func decodeInto(enc Encoding, b []byte, m otlpMessage, what string) error {
	var err error
	if enc == JSON {
		err = m.UnmarshalJSON(b)
	} else {
		err = m.UnmarshalProto(b)
	}
	if err != nil {
		return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf("want an OTLP %s in %s: %v", what, encName(enc), err)}
	}
	return nil
}

func encodeIn(enc Encoding, m otlpMessage) ([]byte, error) {
	if enc == JSON {
		return m.MarshalJSON()
	}
	return m.MarshalProto()
}

func decodeTraces(enc Encoding, b []byte) (ptrace.Traces, error) {
	req := ptraceotlp.NewExportRequest()
	if err := decodeInto(enc, b, req, "ExportTraceServiceRequest"); err != nil {
		return ptrace.Traces{}, err
	}
	return req.Traces(), nil
}

func decodeLogs(enc Encoding, b []byte) (plog.Logs, error) {
	req := plogotlp.NewExportRequest()
	if err := decodeInto(enc, b, req, "ExportLogsServiceRequest"); err != nil {
		return plog.Logs{}, err
	}
	return req.Logs(), nil
}

func encName(e Encoding) string {
	if e == JSON {
		return "JSON"
	}
	return "protobuf"
}

// traceAnswer is the ExportTraceServiceResponse: partial_success set when
// some spans were rejected.
func traceAnswer(enc Encoding, rejected int64, msg string) ([]byte, error) {
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 || msg != "" {
		resp.PartialSuccess().SetRejectedSpans(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return encodeIn(enc, resp)
}

// logAnswer is the ExportLogsServiceResponse.
func logAnswer(enc Encoding, rejected int64, msg string) ([]byte, error) {
	resp := plogotlp.NewExportResponse()
	if rejected > 0 || msg != "" {
		resp.PartialSuccess().SetRejectedLogRecords(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return encodeIn(enc, resp)
}

// statusAnswer is the google.rpc.Status body OTLP/HTTP answers a failed
// request with (code is the gRPC code matching the HTTP status).
func statusAnswer(enc Encoding, httpStatus int, msg string) []byte {
	st := &spb.Status{Code: grpcCode(httpStatus), Message: msg}
	var b []byte
	var err error
	if enc == JSON {
		b, err = protojson.Marshal(st)
	} else {
		b, err = proto.Marshal(st)
	}
	if err != nil { // cannot happen for a Status of two scalar fields
		return nil
	}
	return b
}

// grpcCode is the gRPC status code of an HTTP status (the mapping the
// OTLP/gRPC and OTLP/HTTP specifications share).
func grpcCode(httpStatus int) int32 {
	switch httpStatus {
	case http.StatusBadRequest:
		return 3 // INVALID_ARGUMENT
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	case http.StatusRequestEntityTooLarge:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusUnsupportedMediaType:
		return 3
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	}
	return 13 // INTERNAL
}
