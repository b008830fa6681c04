package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
)

// overloadStacks are the stacks of the overload scenarios (routes (b) and
// (d) on PostgreSQL), svckit and go-zero with their shedding on.
var overloadStacks = []string{"svckit", "gozero", "chistack", "huma"}

// loadResult is one open-loop run of one stack at one multiple of its
// capacity.
type loadResult struct {
	rate     float64 // offered requests a second
	sent     int     // requests vegeta sent (fewer than asked when it could not keep up)
	ok       int     // 2xx answers
	shed     int     // 503 answers
	other    int     // other statuses
	failed   int     // no answer: timeouts, connection errors
	p50, p99 time.Duration
	duration time.Duration
}

func (r loadResult) goodput() float64 { return float64(r.ok) / r.duration.Seconds() }

// measureOverload runs the overload scenario of sc: each stack's capacity
// is its median 2xx rate over o.rounds closed-loop wrk runs (interleaved,
// after o.warmup),
// then vegeta drives each stack in open loop at every multiple of it, the
// stacks interleaved at each multiple. svckit and go-zero run with their
// shedding on.
func measureOverload(o options, sc scenario, bins map[string]string, cfg serviceConfig, script string, tokens []string) error {
	if err := os.WriteFile(script, []byte(sc.script), 0o600); err != nil {
		return err
	}
	cfg.shed = true
	addrs, pprofAddrs := map[string]string{}, map[string]string{}
	base := strings.ReplaceAll(sc.name, "/", "-")
	for _, s := range sc.stacks {
		if o.profileDir != "" && s != "gozero" { // go-zero runs its own server, without -pprof
			a, err := freeAddr()
			if err != nil {
				return err
			}
			pprofAddrs[s] = a
		}
		addr, _, stop, err := start(bins[s], cfg, filepath.Join(o.logDir, s+"-overload-"+base+".log"), pprofAddrs[s])
		if err != nil {
			return fmt.Errorf("start %s: %w", s, err)
		}
		defer stop()
		addrs[s] = addr
	}
	capacity := map[string]float64{}
	runs := map[string][]result{}
	if o.warmup > 0 { // a fresh process's first requests open its pool
		for _, s := range sc.stacks {
			if _, err := runWrk(o, o.warmup, "http://"+addrs[s], script); err != nil {
				return err
			}
		}
	}
	for range o.rounds {
		for _, s := range sc.stacks {
			r, err := runWrk(o, o.duration, "http://"+addrs[s], script)
			if err != nil {
				return err
			}
			runs[s] = append(runs[s], r)
		}
	}
	for _, s := range sc.stacks {
		capacity[s] = median(runs[s], func(r result) float64 { return r.okRPS })
	}
	res := map[string][]loadResult{}
	for _, m := range o.multiples {
		for _, s := range sc.stacks {
			rate := m * capacity[s]
			var profiled chan error
			if a := pprofAddrs[s]; a != "" {
				// Every multiple's run is profiled but its last second.
				secs := max(1, int(o.overloadDuration.Seconds())-1)
				profiled = fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", a, secs),
					filepath.Join(o.profileDir, fmt.Sprintf("%s-overload-%s-%gx.cpu.pprof", s, base, m)))
			}
			r := attack(o.overloadDuration, rate, "http://"+addrs[s], tokens, strings.HasSuffix(sc.script, notesScript))
			if profiled != nil {
				if err := <-profiled; err != nil {
					return err
				}
			}
			res[s] = append(res[s], r)
		}
	}
	printOverload(os.Stdout, o, sc, capacity, res)
	return nil
}

// attack sends requests at rate a second to target for d, in open loop:
// vegeta sends on schedule whether or not earlier requests were answered,
// so the latency it measures is free of coordinated omission. With notes
// it sends route (d)'s POST, otherwise route (b)'s GET.
func attack(d time.Duration, rate float64, target string, tokens []string, notes bool) loadResult {
	atk := vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second),
		vegeta.Workers(64), vegeta.MaxWorkers(20_000), vegeta.Connections(20_000))
	next := rand.IntN(len(tokens))
	note := []byte(bench.NoteJSON)
	targeter := func(t *vegeta.Target) error {
		next = (next + 1) % len(tokens)
		t.Header = http.Header{"Authorization": {"Bearer " + tokens[next]}}
		t.Method, t.URL = http.MethodGet, target+"/users/"+bench.UserID(rand.IntN(bench.Users))
		if notes {
			t.Header.Set("Content-Type", "application/json")
			t.Method, t.URL, t.Body = http.MethodPost, t.URL+"/notes", note
		}
		return nil
	}
	r := loadResult{rate: rate, duration: d}
	var oks []time.Duration
	pace := vegeta.Rate{Freq: max(int(rate), 1), Per: time.Second}
	for res := range atk.Attack(vegeta.Targeter(targeter), pace, d, "overload") {
		r.sent++
		switch {
		case res.Code >= 200 && res.Code < 300:
			r.ok++
			oks = append(oks, res.Latency)
		case res.Code == http.StatusServiceUnavailable:
			r.shed++
		case res.Code == 0:
			r.failed++
		default:
			r.other++
		}
	}
	slices.Sort(oks)
	if len(oks) > 0 {
		r.p50, r.p99 = oks[len(oks)/2], oks[len(oks)*99/100]
	}
	return r
}

func printOverload(w io.Writer, o options, sc scenario, capacity map[string]float64, res map[string][]loadResult) {
	fmt.Fprintf(w, "\n### Overload: %s  [%s, open loop %v a run]\n\n", sc.what, sc.name, o.overloadDuration)
	fmt.Fprintln(w, "| stack | capacity (2xx/s, closed loop) | load | offered/s | sent | goodput (2xx/s) | ÷ its 1× goodput | p50 (2xx) | p99 (2xx) | ÷ its 1× p99 | 503 | other non-2xx | no answer |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range sc.stacks {
		rs := res[s]
		for i, r := range rs {
			ref := rs[0]
			ratio, p99ratio := "", ""
			if i > 0 && ref.goodput() > 0 && ref.p99 > 0 {
				ratio = fmt.Sprintf("%.2f", r.goodput()/ref.goodput())
				p99ratio = fmt.Sprintf("%.2f", float64(r.p99)/float64(ref.p99))
			}
			fmt.Fprintf(w, "| %s | %.0f | %g× | %.0f | %d | %.0f | %s | %s | %s | %s | %d | %d | %d |\n", s, capacity[s],
				o.multiples[i], r.rate, r.sent, r.goodput(), ratio, r.p50.Round(10*time.Microsecond),
				r.p99.Round(10*time.Microsecond), p99ratio, r.shed, r.other, r.failed)
		}
	}
}
