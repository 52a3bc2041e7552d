package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// fakeCall is one line of the operator's --fake-call-log.
type fakeCall struct {
	At     time.Time `json:"at"`
	Method string    `json:"method"`
	Target string    `json:"target"`
	N      int       `json:"n"`
	Addrs  []string  `json:"addrs"`
	Err    string    `json:"err"`
}

// providerCalls is what the fake load balancer saw.
type providerCalls struct {
	// ByMethod counts calls per method, failed ones too.
	ByMethod map[string]int
	Failed   int
	// Registered is when each address was first registered by a call that succeeded.
	Registered map[string]time.Time
	// PerTarget counts the addresses registered per target.
	PerTarget map[string]int
}

func readCallLog(path string) (providerCalls, error) {
	pc := providerCalls{ByMethod: map[string]int{}, Registered: map[string]time.Time{}, PerTarget: map[string]int{}}
	f, err := os.Open(path)
	if err != nil {
		return pc, err
	}
	defer func() { _ = f.Close() }() // read only: nothing is lost
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var c fakeCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			// The last line may be cut by the flush: stop there.
			break
		}
		pc.ByMethod[c.Method]++
		if c.Err != "" {
			pc.Failed++
			continue
		}
		if c.Method != "Register" {
			continue
		}
		for _, a := range c.Addrs {
			if _, ok := pc.Registered[a]; !ok {
				pc.Registered[a] = c.At
				pc.PerTarget[c.Target]++
			}
		}
	}
	if err := sc.Err(); err != nil {
		return pc, fmt.Errorf("%s: %w", path, err)
	}
	return pc, nil
}

// minRegisterCalls is the fewest Register calls that bind what was bound,
// one target at a time, with batches of at most limit.
func (pc providerCalls) minRegisterCalls(limit int) int {
	n := 0
	for _, k := range pc.PerTarget {
		n += minBatches(k, limit)
	}
	return n
}
