// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/koban-csirt/koban/internal/evtx"
	"github.com/koban-csirt/koban/internal/intake"
)

// maxWarnings bounds the warnings a Summary keeps about one file.
const maxWarnings = 100

// readEVTX reads a Windows event log: one event per record, product
// "windows", the fields as package evtx renders them (Sigma's names), the
// record's time, the host from Computer, and as raw bytes a compact JSON
// object of the fields, so that the record can be viewed. A compressed file
// is unpacked into a temporary file first, since records are read at
// offsets.
func (im *importer) readEVTX(br *bufio.Reader, gz bool) error {
	var ra io.ReaderAt = &countReaderAt{r: im.src, n: &im.disk.n}
	size := im.size
	if gz {
		tmp, err := os.CreateTemp("", "koban-import-*.evtx")
		if err != nil {
			return fmt.Errorf("file: %s: unpack: %w", im.path, err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if size, err = io.Copy(tmp, br); err != nil {
			return im.readErr(err, 0, size)
		}
		ra = tmp
	}
	rd, err := evtx.NewReader(ra, size)
	if err != nil {
		return fmt.Errorf("file: %s: %w", im.path, err)
	}
	warnings := 0
	var raw []byte
	err = rd.Records(func(r *evtx.Record) error {
		ev := im.slot()
		ev.Log.Product = "windows"
		ev.Time = r.Time
		raw = append(raw[:0], '{')
		for i, f := range r.Fields {
			ev.Add(f.Name, f.Value)
			if f.Name == "Computer" {
				ev.Host = f.Value
			}
			if i > 0 {
				raw = append(raw, ',')
			}
			raw = intake.AppendJSONString(raw, f.Name)
			raw = append(raw, ':')
			raw = intake.AppendJSONString(raw, f.Value)
		}
		raw = append(raw, '}')
		ev.Raw = append([]byte(nil), raw...)
		return im.commit(int64(r.ID))
	}, func(w *evtx.Warning) {
		if warnings++; warnings <= maxWarnings {
			im.warn(w.Error())
		} else if warnings == maxWarnings+1 {
			im.warn("more warnings left out")
		}
	})
	if err != nil {
		if im.ctx.Err() != nil {
			return im.ctx.Err()
		}
		return fmt.Errorf("file: %s: %w", im.path, err)
	}
	return nil
}

// countReaderAt records how far into the file reads went, for progress.
type countReaderAt struct {
	r io.ReaderAt
	n *int64
}

func (c *countReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	if end := off + int64(n); end > *c.n {
		*c.n = end
	}
	return n, err
}
