package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Bucket is where a log is published: a bucket of an S3-compatible object
// store and a key prefix in it. The object of tlog-tiles path p (e.g.
// "checkpoint", "tile/0/x001/234") is the key prefix + "/" + p, or p when
// the prefix is empty.
type Bucket struct {
	client *s3.Client
	name   string
	prefix string // without leading or trailing slash
}

// ParseURL splits an s3://bucket/prefix URL into the bucket's name and the
// key prefix (possibly empty, without leading or trailing slashes).
func ParseURL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	if u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("%q: want s3://BUCKET or s3://BUCKET/PREFIX", s)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// ClientOptions adjust the S3 client NewBucket builds.
type ClientOptions struct {
	// PathStyle addresses the bucket as ENDPOINT/BUCKET/KEY rather than
	// BUCKET.ENDPOINT/KEY: what most local S3-compatible servers need.
	PathStyle bool
	// HTTPClient, when set, carries every request (default: the SDK's).
	HTTPClient *http.Client
}

// NewBucket opens the bucket of an s3://bucket/prefix URL. Endpoint,
// region and credentials come from the standard AWS environment and
// shared configuration (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_S3,
// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...).
// It does not contact the store.
func NewBucket(ctx context.Context, rawURL string, o ClientOptions) (*Bucket, error) {
	name, prefix, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // S3-compatible servers mostly ignore it, but the signer needs one
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.UsePathStyle = o.PathStyle
		if o.HTTPClient != nil {
			so.HTTPClient = o.HTTPClient
		}
	})
	return &Bucket{client: client, name: name, prefix: prefix}, nil
}

// String is the bucket's s3:// URL.
func (b *Bucket) String() string {
	if b.prefix == "" {
		return "s3://" + b.name
	}
	return "s3://" + b.name + "/" + b.prefix
}

// Client is the S3 client the bucket uses.
func (b *Bucket) Client() *s3.Client { return b.client }

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Key is the object key of tlog-tiles path p under the bucket's prefix.
func (b *Bucket) Key(p string) string {
	if b.prefix == "" {
		return p
	}
	return b.prefix + "/" + p
}

// put writes object p with the given Cache-Control and Content-Type.
func (b *Bucket) put(ctx context.Context, p string, data []byte, cache, ctype string) error {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.name), Key: aws.String(b.Key(p)), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), CacheControl: aws.String(cache), ContentType: aws.String(ctype),
	})
	if err != nil {
		return fmt.Errorf("PUT %s/%s: %w", b, p, err)
	}
	return nil
}

// get reads object p; a missing object is an error wrapping fs.ErrNotExist.
func (b *Bucket) get(ctx context.Context, p string) ([]byte, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(b.Key(p))})
	if err != nil {
		var nsk *types.NoSuchKey
		var re *smithyhttp.ResponseError
		var ae smithy.APIError
		if errors.As(err, &nsk) || errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound ||
			errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
			return nil, fmt.Errorf("GET %s/%s: %w", b, p, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("GET %s/%s: %w", b, p, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxCheckpointBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s/%s: %w", b, p, err)
	}
	if len(data) > maxCheckpointBytes {
		return nil, fmt.Errorf("GET %s/%s: more than %d bytes, want a checkpoint", b, p, maxCheckpointBytes)
	}
	return data, nil
}

// maxCheckpointBytes bounds the checkpoint read back from the bucket.
const maxCheckpointBytes = 64 << 10
