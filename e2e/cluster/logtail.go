package cluster

import (
	"bytes"
	"io"
	"os"
	"strings"
)

// tailLines is how many log lines an error carries.
const tailLines = 20

// tailBytes bounds how much of the end of a log file is read for its tail.
const tailBytes = 64 << 10

// logTail returns up to n last non-empty lines of the file at path, or a
// one-line note saying why it could not be read.
func logTail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{"(log unreadable: " + err.Error() + ")"}
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	st, err := f.Stat()
	if err != nil {
		return []string{"(log unreadable: " + err.Error() + ")"}
	}
	off := max(st.Size()-tailBytes, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return []string{"(log unreadable: " + err.Error() + ")"}
	}
	var lines []string
	for _, l := range bytes.Split(buf, []byte("\n")) {
		if s := strings.TrimRight(string(l), "\r"); strings.TrimSpace(s) != "" {
			lines = append(lines, s)
		}
	}
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // the first line read is probably cut
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return []string{"(log is empty)"}
	}
	return lines
}
