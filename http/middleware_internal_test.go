package http

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestInstrument_RecoversPanic(t *testing.T) {
	s := &Server{Metrics: NewMetrics(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := s.instrument("/boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"internal"`) || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Request-Id") == "" {
		t.Fatal("no request id on a 500")
	}
}

func TestAuthorize_SchemeCaseInsensitive(t *testing.T) {
	s := &Server{Metrics: NewMetrics(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.auth = newAuthCache(nil, nil)
	h := s.authorize("admin", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, hdr := range []string{"", "Bearer", "Bearer ", "Basic abc", "bearerX y"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", hdr)
		h.ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Fatalf("%q: got %d", hdr, rec.Code)
		}
	}
}

func TestMetrics_LabelsFromClosedSets(t *testing.T) {
	for method, want := range map[string]string{
		"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
		"DELETE": "DELETE", "OPTIONS": "OPTIONS",
		"get": "other", "CONNECT": "other", "TRACE": "other", "PROPFIND": "other", "": "other",
		strings.Repeat("X", 1000): "other",
	} {
		if got := methodLabel(method); got != want {
			t.Errorf("methodLabel(%.20q) = %q, want %q", method, got, want)
		}
	}
	for status, want := range map[int]string{
		200: "200", 201: "201", 404: "404", 405: "405", 413: "413", 422: "422", 503: "503",
		299: "2xx", 418: "4xx", 599: "5xx", 103: "1xx", 0: "other", 999: "other", -1: "other",
	} {
		if got := statusLabel(status); got != want {
			t.Errorf("statusLabel(%d) = %q, want %q", status, got, want)
		}
	}
	// Every status of the code→status table keeps its code.
	for code, status := range codes {
		if got := statusLabel(status); got != strconv.Itoa(status) {
			t.Errorf("%s: statusLabel(%d) = %q", code, status, got)
		}
	}
}
