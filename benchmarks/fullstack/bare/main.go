// Command bare is the full-stack benchmark's physical limit: net/http
// answering GET /users/{id} with the same JSON from a map in memory, with
// no auth, rate limit, cache or access log; and route (d), POST
// /users/{id}/notes, with the note's rules checked by hand and the row
// written with database/sql.
package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
)

// note is route (d)'s body; pointers where a zero value is valid, so that
// a missing field is told from a zero one.
type note struct {
	Title    string   `json:"title"`
	Body     string   `json:"body"`
	Email    string   `json:"email"`
	Link     string   `json:"link"`
	Color    string   `json:"color"`
	Priority *int64   `json:"priority"`
	Rating   *float64 `json:"rating"`
	Tags     []string `json:"tags"`
	Due      string   `json:"due"`
	Pinned   *bool    `json:"pinned"`
}

// invalid returns the names of the fields of n, and of the path's id,
// that break the rules of bench.NoteJSON.
func (n *note) invalid(id string) []string {
	var bad []string
	if len(id) != 5 || id[0] != 'u' || strings.Trim(id[1:], "0123456789") != "" {
		bad = append(bad, "id")
	}
	if l := utf8.RuneCountInString(n.Title); l < 1 || l > 100 {
		bad = append(bad, "title")
	}
	if l := utf8.RuneCountInString(n.Body); l < 1 || l > 2000 {
		bad = append(bad, "body")
	}
	if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email {
		bad = append(bad, "email")
	}
	if u, err := url.Parse(n.Link); err != nil || u.Scheme == "" || u.Host == "" {
		bad = append(bad, "link")
	}
	if n.Color != "red" && n.Color != "green" && n.Color != "blue" {
		bad = append(bad, "color")
	}
	if n.Priority == nil || *n.Priority < 1 || *n.Priority > 5 {
		bad = append(bad, "priority")
	}
	if n.Rating == nil || *n.Rating < 0 || *n.Rating > 10 {
		bad = append(bad, "rating")
	}
	if n.Tags == nil || len(n.Tags) > 5 {
		bad = append(bad, "tags")
	}
	if _, err := time.Parse(time.RFC3339, n.Due); err != nil {
		bad = append(bad, "due")
	}
	if n.Pinned == nil {
		bad = append(bad, "pinned")
	}
	return bad
}

func main() {
	cfg := bench.ParseFlags()
	db, err := cfg.OpenDB()
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	users := make(map[string]bench.User, bench.Users)
	for i := range bench.Users {
		id := bench.UserID(i)
		users[id] = bench.User{ID: id, Name: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("user%d@example.com", i)}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`"ok"`)) })
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		u, ok := users[r.PathValue("id")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(u)
	})
	mux.Handle("POST /users/{id}/notes", addNote(db, cfg.InsertNote()))
	if err := cfg.Serve(mux); err != nil {
		log.Fatal(err)
	}
}

func addNote(db *sql.DB, insert string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var n note
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&n); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "bad request"})
			return
		}
		id := r.PathValue("id")
		if bad := n.invalid(id); len(bad) > 0 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			json.NewEncoder(w).Encode(map[string]any{"error": "invalid", "fields": bad})
			return
		}
		var row int64
		err := db.QueryRowContext(r.Context(), insert, id, n.Title, n.Body, n.Email, n.Link, n.Color, *n.Priority,
			*n.Rating, strings.Join(n.Tags, ","), n.Due, *n.Pinned).Scan(&row)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error": "internal error"})
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]int64{"id": row})
	})
}
