package webhookcfg_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// controlPlaneCPU is the CPU time used so far by this process's children
// (etcd and kube-apiserver), read from /proc; zero where /proc is missing.
func controlPlaneCPU() time.Duration {
	self := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: state ppid ... utime(14) stime(15).
		s := string(raw)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 13 || fields[1] != self {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += utime + stime
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// handlerCalls is how many requests the webhook handler has answered.
func handlerCalls() uint64 {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return 0
	}
	for _, f := range families {
		if f.GetName() == "lbgate_webhook_handle_duration_seconds" && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

// handlerQuantile is an upper bound of the q-quantile of the webhook
// handler's own time, from its histogram (lbgate_webhook_handle_duration_seconds).
func handlerQuantile(q float64) string {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return "?"
	}
	for _, f := range families {
		if f.GetName() != "lbgate_webhook_handle_duration_seconds" || len(f.GetMetric()) == 0 {
			continue
		}
		h := f.GetMetric()[0].GetHistogram()
		want := q * float64(h.GetSampleCount())
		for _, b := range h.GetBucket() {
			if float64(b.GetCumulativeCount()) >= want {
				return fmt.Sprintf("<= %.2f ms", b.GetUpperBound()*1000)
			}
		}
		return "> last bucket"
	}
	return "?"
}
