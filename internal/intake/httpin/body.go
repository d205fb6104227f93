// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// bodyError is a request body koban will not read.
type bodyError struct {
	status int
	reason string // counter reason (an i18n message id)
	msg    string // for the sender
}

func (e *bodyError) Error() string { return e.msg }

// readBody reads the request body, undoing Content-Encoding gzip or
// deflate, and refuses bodies longer than max bytes after decompression
// (so a small gzip bomb is refused, 413, after max+1 bytes of output).
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	// The compressed size is bounded too: never more than max bytes read.
	raw := http.MaxBytesReader(w, r.Body, max)
	var in io.Reader = raw
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, classify(err, max)
		}
		defer zr.Close()
		in = zr
	case "deflate":
		zr, err := zlib.NewReader(raw)
		if err != nil {
			return nil, classify(err, max)
		}
		defer zr.Close()
		in = zr
	default:
		return nil, &bodyError{http.StatusUnsupportedMediaType, reasonEncoding,
			fmt.Sprintf("Content-Encoding %q is not supported; use gzip or none", enc)}
	}
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= max && r.Header.Get("Content-Encoding") == "" {
		buf.Grow(int(n) + 1)
	}
	n, err := buf.ReadFrom(io.LimitReader(in, max+1))
	if err != nil {
		return nil, classify(err, max)
	}
	if n > max {
		return nil, tooLarge(max)
	}
	return buf.Bytes(), nil
}

func tooLarge(max int64) *bodyError {
	return &bodyError{http.StatusRequestEntityTooLarge, reasonTooLarge,
		fmt.Sprintf("request body is larger than %d bytes (after decompression)", max)}
}

// classify turns a read error into a bodyError.
func classify(err error, max int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(max)
	}
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, zlib.ErrHeader) ||
		errors.Is(err, zlib.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, new(flate.CorruptInputError)) {
		return &bodyError{http.StatusBadRequest, reasonCorrupt, "request body is truncated or not valid compressed data: " + err.Error()}
	}
	return err // the connection failed; nobody is left to answer
}
