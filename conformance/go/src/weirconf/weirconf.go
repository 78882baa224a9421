// Package weirconf is the shared driver plumbing of the Go scenario programs of the
// weir conformance matrix: scenario registry, assertions, names, and the
// `list` / `run SCENARIO HOST:PORT` protocol spoken with conformance/run
// (exit 0 pass, 1 fail with the reason on the last line, 2 not supported).
package weirconf

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var stepMu sync.Mutex
var step = "start"

// Step records what the scenario is doing now (reported if it runs out of time).
func Step(s string) {
	stepMu.Lock()
	step = s
	stepMu.Unlock()
}

// watchdog fails the scenario, naming its current step, shortly before
// conformance/run's budget would kill it silently.
func watchdog(name string) {
	budget, err := strconv.ParseFloat(os.Getenv("CONFORMANCE_BUDGET"), 64)
	if err != nil || budget <= 3 {
		return
	}
	time.AfterFunc(time.Duration((budget-2)*float64(time.Second)), func() {
		stepMu.Lock()
		defer stepMu.Unlock()
		fmt.Printf("FAIL: %s did not finish within %.0fs; stuck at: %s\n", name, budget-2, step)
		os.Exit(1)
	})
}

// Failure is raised (via panic) by the assertions and reported as a failed scenario.
type Failure struct{ Msg string }

// Scenario is one named check run against a broker at the given bootstrap address.
type Scenario func(bootstrap string)

var scenarios = map[string]Scenario{}
var unsupported = map[string]string{}

// Register adds a scenario.
func Register(name string, s Scenario) { scenarios[name] = s }

// Unsupported declares a scenario the client cannot express, with the reason.
func Unsupported(name, why string) { unsupported[name] = why }

// Failf aborts the scenario with a message.
func Failf(format string, args ...interface{}) {
	panic(Failure{fmt.Sprintf(format, args...)})
}

// Check fails the scenario when cond is false.
func Check(cond bool, format string, args ...interface{}) {
	if !cond {
		Failf(format, args...)
	}
}

// NoErr fails the scenario when err is not nil.
func NoErr(err error, what string) {
	Step("after " + what)
	if err != nil {
		Failf("%s: %v", what, err)
	}
}

func short(v interface{}) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Eq fails unless actual deep-equals expected.
func Eq(actual, expected interface{}, what string) {
	if !reflect.DeepEqual(actual, expected) {
		Failf("%s: expected %s, got %s", what, short(expected), short(actual))
	}
}

func uid() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Topic returns a fresh topic name for this client and tag.
func Topic(client, tag string) string { return fmt.Sprintf("cf-%s-%s-%s", client, tag, uid()) }

// Group returns a fresh consumer group id.
func Group(client, tag string) string { return "g-" + Topic(client, tag) }

// WaitUntil polls fn until it returns true or the timeout passes.
func WaitUntil(fn func() bool, timeout time.Duration, what string) {
	Step("waiting for " + what)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if fn() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	Failf("timed out after %s waiting for %s", timeout, what)
}

// Record is one test record.
type Record struct {
	Key, Value []byte
	Headers    [][2][]byte
}

// SampleRecords exercises keys, null keys, null and empty values, binary data and
// headers (repeated keys, empty header values).
func SampleRecords(n int) []Record {
	out := make([]Record, 0, n)
	for i := 0; i < n; i++ {
		var r Record
		if !(i%7 == 3 && i%9 != 4) {
			r.Key = []byte(fmt.Sprintf("key-%d", i%5))
		}
		switch {
		case i%9 == 4:
			r.Value = nil
		case i%11 == 5:
			r.Value = []byte{}
		case i%2 == 1:
			r.Value = make([]byte, 100+i)
			for j := range r.Value {
				r.Value[j] = byte((i * j) % 256)
			}
		default:
			r.Value = []byte(strings.Repeat(fmt.Sprintf("value-%d-ünïcødé-", i), 1+i%4))
		}
		switch i % 3 {
		case 0:
			r.Headers = [][2][]byte{{[]byte("h1"), []byte(fmt.Sprintf("v%d", i))}, {[]byte("h1"), []byte("dup")}, {[]byte("empty"), []byte{}}}
		case 1:
			r.Headers = [][2][]byte{{[]byte("only"), []byte(fmt.Sprintf("%d", i))}}
		}
		out = append(out, r)
	}
	return out
}

// Main runs the driver protocol.
func Main() {
	args := os.Args[1:]
	if len(args) >= 1 && args[0] == "list" {
		names := []string{}
		for n := range scenarios {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Printf("%s\tok\n", n)
		}
		for n, why := range unsupported {
			fmt.Printf("%s\tunsupported\t%s\n", n, why)
		}
		os.Exit(0)
	}
	if len(args) != 3 || args[0] != "run" {
		fmt.Println("usage: DRIVER list | run SCENARIO HOST:PORT")
		os.Exit(1)
	}
	s, ok := scenarios[args[1]]
	if !ok {
		fmt.Printf("not supported: %s\n", unsupported[args[1]])
		os.Exit(2)
	}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(Failure); ok {
				fmt.Println("FAIL: " + strings.ReplaceAll(f.Msg, "\n", " | "))
			} else {
				fmt.Printf("FAIL: panic: %v\n", r)
			}
			os.Exit(1)
		}
	}()
	watchdog(args[1])
	s(args[2])
	fmt.Println("PASS")
	os.Exit(0)
}

// CheckRecordBack compares record i of SampleRecords as a client read it back: key,
// value (an empty value must come back empty, not null, unless emptyMayBeNil: a client
// that cannot tell them apart) and headers as (key, value) pairs in order (a null header
// value counts as empty).
func CheckRecordBack(i int, want Record, key, value []byte, headers [][2][]byte, emptyMayBeNil bool) {
	Eq(key, want.Key, fmt.Sprintf("key of record %d", i))
	if want.Value != nil && len(want.Value) == 0 {
		Check((emptyMayBeNil || value != nil) && len(value) == 0, "record %d: empty value came back as %#v", i, value)
	} else {
		Eq(value, want.Value, fmt.Sprintf("value of record %d", i))
	}
	hs := [][2][]byte{}
	for _, h := range headers {
		if h[1] == nil {
			h[1] = []byte{}
		}
		hs = append(hs, h)
	}
	wh := want.Headers
	if wh == nil {
		wh = [][2][]byte{}
	}
	Eq(hs, wh, fmt.Sprintf("headers of record %d", i))
}

// Values is n records with the values PREFIX0, PREFIX1, ... and no key.
func Values(n int, prefix string) []Record {
	out := []Record{}
	for i := 0; i < n; i++ {
		out = append(out, Record{Value: []byte(fmt.Sprintf("%s%d", prefix, i))})
	}
	return out
}

// Seq is the offsets from, from+1, ..., from+n-1.
func Seq(from, n int) []int64 {
	out := []int64{}
	for i := 0; i < n; i++ {
		out = append(out, int64(from+i))
	}
	return out
}

// Contains tells whether the partition x is in xs.
func Contains(xs []int32, x int32) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
