package certs

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestServedCertificate(t *testing.T) {
	var k Keeper
	b := mustGenerate(t, realOptions())
	if err := k.Update(b); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, &k)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got, err := ServedCertificate(ctx, addr, testHost)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(b.Serving.Cert) {
		t.Errorf("served serial %x, want %x", got.SerialNumber, b.Serving.Cert.SerialNumber)
	}

	// A port nobody listens on: an error, not a hang.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	if _, err := ServedCertificate(ctx, closed, testHost); err == nil {
		t.Error("ServedCertificate on a closed port succeeded")
	}
}
