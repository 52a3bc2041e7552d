package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// serve runs a TLS server on 127.0.0.1 that takes its certificate from k and
// answers "ok" to every connection. It returns the address.
func serve(t *testing.T, k *Keeper) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: k.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close() //nolint:errcheck
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				if conn.(*tls.Conn).Handshake() == nil {
					_, _ = conn.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake connects like the apiserver does: trusting only caBundle and
// checking the Service host name. It returns the certificate presented.
func handshake(addr string, caBundle []byte) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caBundle) {
		return nil, errors.New("no CA in caBundle")
	}
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 10 * time.Second},
		Config:    &tls.Config{RootCAs: pool, ServerName: testHost, MinVersion: tls.VersionTLS12},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close() //nolint:errcheck
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ok" {
		return nil, errors.Join(errors.New("no answer after the handshake"), err)
	}
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

func mustHandshake(t *testing.T, addr string, caBundle []byte, want *x509.Certificate) {
	t.Helper()
	got, err := handshake(addr, caBundle)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if !got.Equal(want) {
		t.Fatalf("server presented serial %x, want %x", got.SerialNumber, want.SerialNumber)
	}
}

func TestKeeperBeforeFirstUpdate(t *testing.T) {
	var k Keeper
	if _, err := k.GetCertificate(nil); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("GetCertificate = %v, want ErrNoCertificate", err)
	}
	if k.Current() != nil || k.Leaf() != nil {
		t.Error("empty keeper returns a bundle")
	}
	if err := k.TrustedBy([]byte("x")); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("TrustedBy = %v, want ErrNoCertificate", err)
	}
	addr := serve(t, &k)
	if _, err := handshake(addr, mustGenerate(t, realOptions()).CABundle()); err == nil {
		t.Error("handshake succeeded with no certificate loaded")
	}
}

func TestKeeperRefusesUnusableBundles(t *testing.T) {
	var k Keeper
	good := mustGenerate(t, realOptions())
	other := mustGenerate(t, realOptions())
	if err := k.Update(good); err != nil {
		t.Fatal(err)
	}
	mismatched := &Bundle{CA: good.CA, Serving: KeyPair{Cert: good.Serving.Cert, Key: other.Serving.Key}}
	for name, b := range map[string]*Bundle{"nil": nil, "empty": {}, "mismatched key": mismatched} {
		if err := k.Update(b); err == nil {
			t.Errorf("Update(%s) accepted", name)
		}
	}
	if k.Current() != good {
		t.Error("a refused Update replaced the served bundle")
	}
	if err := k.TrustedBy(good.CABundle()); err != nil {
		t.Errorf("TrustedBy(own caBundle): %v", err)
	}
	if err := k.TrustedBy(other.CABundle()); ReasonOf(err) != ReasonNotSignedByCA {
		t.Errorf("TrustedBy(foreign caBundle): %v, want NotSignedByCA", err)
	}
}

func TestHandshakeAcrossUpdateWithoutRestart(t *testing.T) {
	opts := realOptions()
	var k Keeper
	b1 := mustGenerate(t, opts)
	if err := k.Update(b1); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, &k)
	mustHandshake(t, addr, b1.CABundle(), b1.Serving.Cert)

	b2, err := b1.RenewLeaf(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Update(b2); err != nil {
		t.Fatal(err)
	}
	mustHandshake(t, addr, b1.CABundle(), b2.Serving.Cert)
	if k.Leaf() != b2.Serving.Cert {
		t.Error("Leaf does not follow Update")
	}

	// A whole new CA (Secret deleted and regenerated): clients with the new
	// caBundle work at once, on the same listener.
	b3 := mustGenerate(t, opts)
	if err := k.Update(b3); err != nil {
		t.Fatal(err)
	}
	mustHandshake(t, addr, b3.CABundle(), b3.Serving.Cert)
	if _, err := handshake(addr, b1.CABundle()); err == nil {
		t.Error("a client trusting only the replaced CA still completed a handshake")
	}
}

func TestHandshakeAcrossCARotation(t *testing.T) {
	opts := realOptions()
	var k Keeper
	old := mustGenerate(t, opts)
	if err := k.Update(old); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, &k)
	oldBundle := old.CABundle()
	mustHandshake(t, addr, oldBundle, old.Serving.Cert)

	// Phase 1: new CA in the bundle, the served leaf unchanged: clients with
	// the old caBundle and with old+new both work.
	rotated := mustApply(t, old, ActionRotateCA, opts)
	if err := k.Update(rotated); err != nil {
		t.Fatal(err)
	}
	overlap := rotated.CABundle()
	mustHandshake(t, addr, oldBundle, old.Serving.Cert)
	mustHandshake(t, addr, overlap, old.Serving.Cert)

	// Phase 2: leaf from the new CA: the old+new client keeps working.
	reissued := mustApply(t, rotated, ActionIssueFromNewCA, opts)
	if err := k.Update(reissued); err != nil {
		t.Fatal(err)
	}
	mustHandshake(t, addr, overlap, reissued.Serving.Cert)
	if !bytesEqual(reissued.CABundle(), overlap) {
		t.Error("caBundle changed between phase 1 and phase 2")
	}

	// Phase 3: previous CA dropped: the new-only bundle works too.
	final := mustApply(t, reissued, ActionDropPreviousCA, opts)
	if err := k.Update(final); err != nil {
		t.Fatal(err)
	}
	mustHandshake(t, addr, final.CABundle(), reissued.Serving.Cert)
	mustHandshake(t, addr, overlap, reissued.Serving.Cert)
}

func TestKeeperConcurrentUpdatesAndHandshakes(t *testing.T) {
	opts := realOptions()
	var k Keeper
	first := mustGenerate(t, opts)
	if err := k.Update(first); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, &k)
	bundles := []*Bundle{first}
	for range 4 {
		next, err := bundles[len(bundles)-1].RenewLeaf(opts)
		if err != nil {
			t.Fatal(err)
		}
		bundles = append(bundles, next)
	}
	caBundle := first.CABundle()

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 8 {
				if _, err := handshake(addr, caBundle); err != nil {
					errs <- err
				}
				if c, err := k.GetCertificate(nil); err != nil || c.Leaf == nil {
					errs <- errors.Join(errors.New("GetCertificate"), err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 40 {
			if err := k.Update(bundles[i%len(bundles)]); err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
