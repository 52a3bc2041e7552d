package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/go-logr/logr"
)

// pprofAddr is --pprof-bind-address: off unless set, loopback only.
var pprofAddr string

func init() {
	flag.CommandLine.StringVar(&pprofAddr, "pprof-bind-address", "", "loopback address (127.0.0.1:PORT) that serves Go's profiles at /debug/pprof/, for measuring lbgate (cmd/lbgate-bench); empty (the default) serves none")
}

// servePprof serves net/http/pprof on --pprof-bind-address until ctx ends.
// Profiles show the operator's internals, so only a loopback address is
// taken: reach it with kubectl port-forward.
func servePprof(ctx context.Context, log logr.Logger) error {
	if pprofAddr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(pprofAddr)
	if err != nil {
		return fmt.Errorf("--pprof-bind-address=%q: %w", pprofAddr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof-bind-address=%q: must be a loopback address such as 127.0.0.1:6060", pprofAddr)
	}
	l, err := net.Listen("tcp", pprofAddr)
	if err != nil {
		return fmt.Errorf("--pprof-bind-address=%q: %w", pprofAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(err, "pprof server stopped", "address", pprofAddr)
		}
	}()
	log.Info("serving profiles", "address", "http://"+l.Addr().String()+"/debug/pprof/")
	return nil
}
