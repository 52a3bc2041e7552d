package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is one run of the bench: the machine, the versions, and every scenario's rows.
type Report struct {
	Commit    string            `json:"commit"`
	Dirty     []string          `json:"uncommittedFiles,omitempty"`
	Started   time.Time         `json:"started"`
	Duration  string            `json:"duration"`
	Cores     int               `json:"cores"`
	Versions  map[string]string `json:"versions"`
	LoadStart string            `json:"loadAverageAtStart"`
	LoadEnd   string            `json:"loadAverageAtEnd"`
	Scenarios []*Scenario       `json:"scenarios"`
}

// Scenario is one scenario's results.
type Scenario struct {
	Name string `json:"name"`
	// Setup says in a line what ran.
	Setup string `json:"setup"`
	Rows  []Row  `json:"rows"`
	// Data holds the raw numbers (milliseconds, counts, MiB, seconds).
	Data map[string]float64 `json:"data"`
	// Notes are lines printed under the table: what limits a figure, profiles.
	Notes []string `json:"notes,omitempty"`
	Err   string   `json:"error,omitempty"`
}

// Row is one line of the table.
type Row struct {
	Metric   string `json:"metric"`
	Value    string `json:"value"`
	Baseline string `json:"baseline,omitempty"`
	Target   string `json:"target,omitempty"`
	// Met is "yes", "NO" or "" (no target).
	Met string `json:"met,omitempty"`
}

func newScenario(name, setup string) *Scenario {
	return &Scenario{Name: name, Setup: setup, Data: map[string]float64{}}
}

func (s *Scenario) row(metric, value, baseline string) {
	s.Rows = append(s.Rows, Row{Metric: metric, Value: value, Baseline: baseline})
}

// target adds a row with a target and whether it was met.
func (s *Scenario) target(metric, value, baseline, target string, met bool) {
	m := "NO"
	if met {
		m = "yes"
	}
	s.Rows = append(s.Rows, Row{Metric: metric, Value: value, Baseline: baseline, Target: target, Met: m})
}

func (s *Scenario) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

// Missed reports whether any target of the scenario was missed.
func (s *Scenario) Missed() bool {
	for _, r := range s.Rows {
		if r.Met == "NO" {
			return true
		}
	}
	return s.Err != ""
}

// Print writes the table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nlbgate bench: commit %s", r.Commit)
	if len(r.Dirty) > 0 {
		fmt.Fprintf(w, " + uncommitted changes in %s", strings.Join(r.Dirty, ", "))
	}
	fmt.Fprintf(w, "\n%d cores; %s; load average (1, 5, 15 min) at start %s, at end %s; took %s\n",
		r.Cores, versionLine(r.Versions), r.LoadStart, r.LoadEnd, r.Duration)
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "\n%s: %s\n", strings.ToUpper(s.Name), s.Setup)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  metric\tvalue\tbaseline\ttarget\tmet\n")
		for _, row := range s.Rows {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", row.Metric, row.Value, dash(row.Baseline), dash(row.Target), row.Met)
		}
		tw.Flush()
		if s.Err != "" {
			fmt.Fprintf(w, "  FAILED: %s\n", s.Err)
		}
	}
	for _, s := range r.Scenarios {
		if len(s.Notes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s notes:\n", s.Name)
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(n, "\n", "\n  "))
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func versionLine(v map[string]string) string {
	parts := []string{}
	for _, k := range []string{"go", "kube-apiserver", "etcd", "haproxy"} {
		if v[k] != "" {
			parts = append(parts, k+" "+v[k])
		}
	}
	return strings.Join(parts, ", ")
}

// Write saves the report as JSON in dir and returns the path.
func (r *Report) Write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.Started.Format("20060102-150405")+".json")
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// fmtDur renders a duration rounded for the table.
func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}
