// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/reportdesk"
)

// reportForm is the report form as typed.
type reportForm struct {
	Kind, What, When, Where, Contact string
}

// Bounds of the report form's multipart body, whatever a crafted request
// sends: each text field is read up to maxReportField bytes (the longest
// description in four-byte characters fits), and at most maxReportParts
// parts besides the files are looked at.
const (
	maxReportField = 64 << 10
	maxReportParts = 32
)

// reportFields are the text fields of the form, by name.
var reportFields = map[string]func(f *reportForm) *string{
	"kind":    func(f *reportForm) *string { return &f.Kind },
	"what":    func(f *reportForm) *string { return &f.What },
	"when":    func(f *reportForm) *string { return &f.When },
	"where":   func(f *reportForm) *string { return &f.Where },
	"contact": func(f *reportForm) *string { return &f.Contact },
}

// stageFunc streams one file of the form somewhere and returns it.
type stageFunc func(ctx context.Context, name string, r io.Reader) (reportdesk.Attachment, error)

// readReportForm streams a multipart/form-data report: the text fields
// into the form, each file part of the "attachment" field through stage,
// at most maxFiles of them. The files are never held in memory or in a
// temporary file of the standard library. On error it returns what it
// staged so far, for the caller to discard, and what it read of the
// fields, to show again.
//
// Errors: Invalid "reportdesk.malformed" for a body that is not
// multipart or not well formed, Invalid "reportdesk.too_many_files" past
// maxFiles, TooLarge "reportdesk.body_too_large" when the body limit cut
// it short, and stage's errors.
func readReportForm(ctx context.Context, body io.Reader, contentType string, maxFiles int, stage stageFunc) (reportForm, []reportdesk.Attachment, error) {
	var f reportForm
	var staged []reportdesk.Attachment
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return f, nil, fault.New(fault.Invalid, "reportdesk.malformed")
	}
	end := &endSeen{r: body, delim: []byte("--" + params["boundary"] + "--")}
	mr := multipart.NewReader(end, params["boundary"])
	parts := 0
	for {
		p, err := mr.NextPart()
		// NextPart says io.EOF for the end of the body, but also for one
		// cut short in a part's header: only a body with its closing
		// delimiter is whole.
		if errors.Is(err, io.EOF) && end.seen {
			return f, staged, nil
		}
		if err != nil {
			return f, staged, bodyFault(err)
		}
		err = readReportPart(ctx, p, &f, &staged, &parts, maxFiles, stage)
		_ = p.Close() // the next NextPart skips what is left of it anyway
		if err != nil {
			return f, staged, err
		}
	}
}

// endSeen passes a body through and notes whether the closing delimiter
// of the multipart body ("--boundary--") went by.
type endSeen struct {
	r     io.Reader
	delim []byte
	carry []byte // the last len(delim)-1 bytes, for a delimiter split across reads
	seen  bool
}

func (e *endSeen) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if n > 0 && !e.seen {
		k := len(e.delim) - 1
		chunk := p[:n]
		// Only the carry and the chunk's first k bytes can hold a
		// delimiter the chunk alone does not: copy no more than that.
		joined := append(e.carry, chunk[:min(n, k)]...)
		e.seen = bytes.Contains(joined, e.delim) || bytes.Contains(chunk, e.delim)
		joined = append(joined[:len(e.carry)], chunk[max(0, n-k):]...)
		e.carry = append(e.carry[:0], joined[max(0, len(joined)-k):]...)
	}
	return n, err
}

// readReportPart reads one part into f or, for a chosen file, through
// stage into staged.
func readReportPart(ctx context.Context, p *multipart.Part, f *reportForm, staged *[]reportdesk.Attachment, parts *int, maxFiles int, stage stageFunc) error {
	name := p.FormName()
	if name == "attachment" && p.FileName() != "" {
		if len(*staged) >= maxFiles {
			return fault.InvalidField("attachment", "reportdesk.too_many_files", "max", maxFiles)
		}
		at, err := stage(ctx, p.FileName(), p)
		if err != nil {
			return stageFault(err)
		}
		*staged = append(*staged, at)
		return nil
	}
	if *parts++; *parts > maxReportParts {
		return fault.New(fault.Invalid, "reportdesk.malformed")
	}
	field, ok := reportFields[name]
	if !ok {
		return nil // unknown fields, and the empty file input, are ignored
	}
	b, err := io.ReadAll(io.LimitReader(p, maxReportField+1))
	if err != nil {
		return bodyFault(err)
	}
	if len(b) > maxReportField {
		return fault.InvalidField(name, "reportdesk.too_long", "max", reportdesk.MaxWhat)
	}
	*field(f) = string(b)
	return nil
}

// bodyFault turns an error reading the body itself into a fault: the body
// limit into TooLarge about the attachments, anything else into Invalid
// (the body is the client's).
func bodyFault(err error) error {
	if f := tooLargeFault(err); f != nil {
		return f
	}
	return fault.Wrap(fault.Invalid, err, "reportdesk.malformed")
}

// stageFault is bodyFault for an error of staging a file, which may also
// be the content store's own (internal) or a fault: those pass.
func stageFault(err error) error {
	if f := tooLargeFault(err); f != nil {
		return f
	}
	if errors.Is(err, io.ErrUnexpectedEOF) && len(fault.Faults(err)) == 0 {
		return fault.Wrap(fault.Invalid, err, "reportdesk.malformed")
	}
	return err
}

func tooLargeFault(err error) error {
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		return nil
	}
	f := fault.InvalidField("attachment", "reportdesk.body_too_large")
	f.Kind, f.Err = fault.TooLarge, err
	return f
}
