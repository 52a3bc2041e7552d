package cluster

import (
	"fmt"
	"strings"
)

// ComponentError is the error Start and Stop return when a component fails:
// it names the component, what was being done, the log file and the log's
// last lines, so the failure says where to look.
type ComponentError struct {
	// Component is the failing component.
	Component Component
	// Op is what failed, for example "start" or "wait for /readyz".
	Op string
	// LogPath is the component's log file.
	LogPath string
	// LogTail holds the last lines of the log at the time of the failure.
	LogTail []string
	// Err is the underlying error.
	Err error
}

// Error renders the component, the operation, the cause, the log path and the
// log's last lines, one per line.
func (e *ComponentError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %v\n  log: %s", e.Component, e.Op, e.Err, e.LogPath)
	if len(e.LogTail) > 0 {
		fmt.Fprintf(&b, "\n  last %d log lines:", len(e.LogTail))
		for _, l := range e.LogTail {
			b.WriteString("\n  | ")
			b.WriteString(l)
		}
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ComponentError) Unwrap() error { return e.Err }

// componentError builds a ComponentError for p, reading its log's tail now.
func componentError(p *process, op string, err error) *ComponentError {
	return &ComponentError{
		Component: p.comp,
		Op:        op,
		LogPath:   p.logPath,
		LogTail:   logTail(p.logPath, tailLines),
		Err:       err,
	}
}
