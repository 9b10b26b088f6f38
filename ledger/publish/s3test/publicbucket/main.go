// Command publicbucket creates the bucket of an s3://BUCKET/PREFIX URL (the
// form ledgerd --publish takes) on the S3-compatible server of the standard
// AWS environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, ...),
// addressed path style, and lets anyone read its objects with a plain HTTP
// GET: s3test.CreatePublicBucket, for scripts (make bench-publish starts a
// versitygw and makes its bucket with it).
//
//	go run ./ledger/publish/s3test/publicbucket s3://fja/bench
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/fjaledger/fja/ledger/publish"
	"github.com/fjaledger/fja/ledger/publish/s3test"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: publicbucket s3://BUCKET/PREFIX")
		os.Exit(2)
	}
	ctx := context.Background()
	b, err := publish.NewBucket(ctx, os.Args[1], publish.ClientOptions{PathStyle: true})
	if err == nil {
		err = s3test.CreatePublicBucket(ctx, b.Client(), b.Name())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "publicbucket:", err)
		os.Exit(1)
	}
}
