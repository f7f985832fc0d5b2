// Command walletd-baseline is the do-nothing HTTP server that walletd's
// throughput is measured against (docs/benchmarks.md): a gorilla/mux router
// with the credit route of walletd's API, whose handler reads and decodes
// the JSON body and answers a small JSON object, with no storage, no
// events and no middleware. The ratio of walletd's durable credits per
// second to this server's requests per second, under the same client on
// the same machine in the same run, is the figure that stays comparable
// across machines and across a shared, noisy one.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/gorilla/mux"
)

func main() {
	addr := flag.String("http-addr", "127.0.0.1:8090", "address to listen on")
	flag.Parse()
	log.SetFlags(0)
	fmt.Fprintf(os.Stderr, "walletd-baseline listening on %s\n", *addr)
	log.Fatal(http.ListenAndServe(*addr, handler()))
}

// handler returns the router: POST /v1/wallets/{id}/credit and
// GET /healthz.
func handler() http.Handler {
	var seq atomic.Uint64
	r := mux.NewRouter()
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	}).Methods(http.MethodGet)
	r.HandleFunc("/v1/wallets/{id}/credit", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Amount string `json:"amount"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, `{"error":{"code":"invalid"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{
			"wallet_id": mux.Vars(r)["id"], "amount": req.Amount,
			"seq": strconv.FormatUint(seq.Add(1), 10),
		}})
	}).Methods(http.MethodPost)
	return r
}
