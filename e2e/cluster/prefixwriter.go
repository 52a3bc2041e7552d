package cluster

import (
	"bytes"
	"io"
	"sync"
)

// outputMu serialises writes of whole lines from every component to the
// shared Options.Output, so lines of different components never interleave.
var outputMu sync.Mutex

// prefixWriter copies whole lines to w, each prefixed with "[name] ".
type prefixWriter struct {
	w      io.Writer
	prefix []byte
	buf    []byte
}

// newPrefixWriter returns a writer that prefixes every line with [name].
func newPrefixWriter(w io.Writer, name string) *prefixWriter {
	return &prefixWriter{w: w, prefix: []byte("[" + name + "] ")}
}

// Write buffers p and forwards every complete line. Errors of the shared
// writer are ignored: the log file is the record, this copy is a courtesy.
func (pw *prefixWriter) Write(p []byte) (int, error) {
	pw.buf = append(pw.buf, p...)
	for {
		i := bytes.IndexByte(pw.buf, '\n')
		if i < 0 {
			break
		}
		line := append(append([]byte(nil), pw.prefix...), pw.buf[:i+1]...)
		outputMu.Lock()
		_, _ = pw.w.Write(line)
		outputMu.Unlock()
		pw.buf = pw.buf[i+1:]
	}
	return len(p), nil
}
