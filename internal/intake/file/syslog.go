// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"errors"
	"io"

	"github.com/koban-csirt/koban/internal/intake/syslog"
)

// readSyslog reads text, one syslog message per line (syslog.Parse keeps a
// line that is not syslog, flagged). Timestamps without a year ("Oct 11
// 22:14:15") take the year that puts them closest before the file's
// modification time, as a log file's lines were written before it was
// last changed. A file in Shift_JIS is converted to UTF-8 first.
func (im *importer) readSyslog(br *bufio.Reader, head []byte) error {
	br, _ = textReader(br, head)
	lr := newLineReader(br, im.o.MaxLineBytes)
	mtime := im.mtime.UnixNano()
	for {
		line, cut, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return im.readErr(err, lr.num, lr.next)
		}
		if lr.num == 1 {
			line = trimBOM(line)
		}
		if blank(line) {
			continue
		}
		ev := im.slot()
		ev.Received = mtime // syslog.Parse picks missing years by it; commit resets it
		syslog.Parse(line, ev)
		if cut {
			flagCut(ev, im.o.MaxLineBytes)
		}
		if err := im.commit(lr.off); err != nil {
			return err
		}
	}
}
