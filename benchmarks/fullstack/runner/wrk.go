package main

import (
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// wrk's summary lines that parseWrk reads.
var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reTotal   = regexp.MustCompile(`(\d+) requests in`)
	reLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reSocket  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reStatus  = regexp.MustCompile(`(?m)^status (\d+) (\d+)$`)
)

func runWrk(o options, d time.Duration, target, script string) (result, error) {
	cmd := exec.Command("wrk", "-t", strconv.Itoa(o.threads), "-c", strconv.Itoa(o.conns), "-d", d.String(),
		"--latency", "-s", script, target)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(string(out))
}

func parseWrk(out string) (result, error) {
	var r result
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's output: %s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, m := range reLatency.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := reSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.errors += n
		}
	}
	r.statuses = map[int]int{}
	for _, m := range reStatus.FindAllStringSubmatch(out, -1) {
		code, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		r.statuses[code] += n
		if code < 200 || code > 299 {
			r.non2xx += n // 3xx counts too: no route here redirects
		}
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil && len(r.statuses) == 0 {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	r.okRPS = r.rps
	if m := reTotal.FindStringSubmatch(out); m != nil {
		if total, _ := strconv.Atoi(m[1]); total > 0 {
			r.okRPS = r.rps * float64(total-r.non2xx) / float64(total)
		}
	}
	return r, nil
}

// median returns the median of f over rs.
func median[T int | float64 | time.Duration](rs []result, f func(result) T) T {
	v := make([]T, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func printTable(w io.Writer, sc scenario, res map[string][]result) {
	fmt.Fprintf(w, "\n### %s  [%s, %d rounds]\n\n", sc.what, sc.name, len(res[sc.stacks[0]]))
	fmt.Fprintln(w, "| stack | 2xx req/s (median) | all req/s | p50 | p99 | errors | non-2xx | svckit 2xx req/s ÷ this | this p99 ÷ svckit p99 | service CPU / 2xx | PostgreSQL CPU / 2xx |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	ref := res["svckit"]
	for _, s := range sc.stacks {
		rs := res[s]
		var errs, non int
		for _, r := range rs {
			errs += r.errors
			non += r.non2xx
		}
		rps := median(rs, func(r result) float64 { return r.okRPS })
		all := median(rs, func(r result) float64 { return r.rps })
		p99 := median(rs, func(r result) time.Duration { return r.p99 })
		ratio, p99ratio := "", ""
		if s != "svckit" && rps > 0 && p99 > 0 {
			ratio = fmt.Sprintf("%.2f×", median(ref, func(r result) float64 { return r.okRPS })/rps)
			p99ratio = fmt.Sprintf("%.2f×", float64(p99)/float64(median(ref, func(r result) time.Duration { return r.p99 })))
		}
		pg := ""
		if v := median(rs, func(r result) time.Duration { return r.pgCPU }); v > 0 {
			pg = v.Round(time.Microsecond).String()
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %s | %s | %d | %d | %s | %s | %s | %s |\n", s, rps, all,
			median(rs, func(r result) time.Duration { return r.p50 }).Round(time.Microsecond),
			p99.Round(time.Microsecond), errs, non, ratio, p99ratio,
			median(rs, func(r result) time.Duration { return r.svcCPU }).Round(time.Microsecond), pg)
	}
}
