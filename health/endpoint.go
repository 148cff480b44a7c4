package health

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// endpoint serves one group of checks (livez or readyz) the way the
// Kubernetes API server does: "ok" or a list of failures, ?verbose for every
// check, ?exclude=name to skip some, and /<kind>/<name> for one check.
func (s *Server) endpoint(kind string, checks []Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		_, verbose := q["verbose"]
		run := checks
		if name := r.PathValue("check"); name != "" {
			c, ok := findCheck(checks, name)
			if !ok {
				http.Error(w, fmt.Sprintf("%s: no check named %q", kind, name), http.StatusNotFound)
				return
			}
			run = []Check{c}
		}
		exclude := map[string]bool{}
		for _, name := range q["exclude"] {
			exclude[name] = true
		}
		results := runChecks(r.Context(), run, exclude, s.opts.CheckTimeout)
		s.logChanges(kind, results)

		var b strings.Builder
		failed := false
		for _, res := range results {
			switch {
			case res.excluded:
				if verbose {
					fmt.Fprintf(&b, "[+]%s excluded: ok\n", res.name)
				}
				delete(exclude, res.name)
			case res.err != nil:
				failed = true
				fmt.Fprintf(&b, "[-]%s failed: %s\n", res.name, oneLine(res.err.Error()))
			case verbose:
				fmt.Fprintf(&b, "[+]%s ok\n", res.name)
			}
		}
		if len(exclude) > 0 && verbose {
			fmt.Fprintf(&b, "warn: some checks cannot be excluded: no matches for %s\n", quotedKeys(exclude))
		}

		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		switch {
		case failed:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(&b, "%s check failed\n", kind)
		case verbose:
			fmt.Fprintf(&b, "%s check passed\n", kind)
		default:
			b.WriteString("ok")
		}
		_, _ = w.Write([]byte(b.String()))
	})
}

// logChanges logs a check when it starts failing, changes its reason, or
// recovers: probes run every few seconds and would drown the log otherwise.
func (s *Server) logChanges(kind string, results []result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, res := range results {
		if res.excluded {
			continue
		}
		key := kind + "/" + res.name
		prev, wasFailing := s.failed[key]
		switch {
		case res.err != nil && prev != res.err.Error():
			s.failed[key] = res.err.Error()
			s.log.Warn("health check failing", "endpoint", kind, "check", res.name, "err", res.err)
		case res.err == nil && wasFailing:
			delete(s.failed, key)
			s.log.Info("health check recovered", "endpoint", kind, "check", res.name)
		}
	}
}

func findCheck(checks []Check, name string) (Check, bool) {
	for _, c := range checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// oneLine keeps a reason on its line: the output is parsed line by line.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func quotedKeys(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
