package main

import (
	"math"
	"slices"
	"time"
)

// durations summarises a sample of durations.
type durations []time.Duration

// quantile is the q-quantile (0..1) by the nearest-rank method; 0 for an empty sample.
func (d durations) quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(rank, len(s)-1))]
}

// max is the largest value; 0 for an empty sample.
func (d durations) max() time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Max(d)
}

// sum adds the sample up.
func (d durations) sum() time.Duration {
	var t time.Duration
	for _, v := range d {
		t += v
	}
	return t
}

// ms renders a duration in milliseconds for the JSON results.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// minBatches is the fewest calls that carry n backends when one call takes
// at most limit (0: no limit).
func minBatches(n, limit int) int {
	if n <= 0 {
		return 0
	}
	if limit <= 0 {
		return 1
	}
	return (n + limit - 1) / limit
}
