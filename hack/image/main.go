// Command image builds the lbgate operator's container image without a
// container daemon or a registry: a static binary in one layer on an empty
// base, run as the numeric non-root user 65532, with no shell. It writes a
// `docker load`-able tarball and an OCI image layout. It also points the
// install's kustomization at an image name.
//
//	go run ./hack/image build --img lbgate:dev [--binary bin/lbgate-static] [--arch arm64]
//	go run ./hack/image set-image --img registry.example/lbgate:v1
//
// `make image` and `make set-image` run it with the Makefile's IMG.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Defaults of the flags.
const (
	defaultSource        = "https://github.com/lbgate/lbgate"
	defaultKustomization = "config/manager/kustomization.yaml"
)

// Config is one `build`: where the binary comes from, what the image is
// named and labelled, and where it goes.
type Config struct {
	// Img names (and tags) the image, as the Makefile's IMG.
	Img string
	// Out is the directory the image (and a binary built here) goes to.
	Out string
	// Binary is a static binary to use; empty builds Package from Dir.
	Binary string
	// Dir is the module's root, where Package is built from.
	Dir string
	// Package is the operator's main package.
	Package string
	// Arch is the GOARCH of the binary and the image.
	Arch string
	// CABundle is the PEM file of trusted roots put into the image; empty
	// for none.
	CABundle string
	// Version, Revision and Source fill the OCI labels; Version defaults
	// to IMG's tag.
	Version, Revision, Source string
	// Created stamps the image (Unix time 0 unless SOURCE_DATE_EPOCH says).
	Created time.Time
}

// Run builds the binary when none is given, then the image, and writes it.
func Run(ctx context.Context, c Config) (Written, error) {
	tag, err := name.NewTag(c.Img)
	if err != nil {
		return Written{}, fmt.Errorf("IMG %q: a name and tag (name:tag) is needed: %w", c.Img, err)
	}
	if c.Binary == "" {
		c.Binary = filepath.Join(c.Out, "lbgate-linux-"+c.Arch)
		if err := os.MkdirAll(c.Out, 0o755); err != nil {
			return Written{}, err
		}
		if err := GoBuild(ctx, c.Dir, c.Package, c.Arch, c.Binary); err != nil {
			return Written{}, err
		}
	}
	if c.Version == "" {
		c.Version = tag.TagStr()
	}
	labels := map[string]string{
		"org.opencontainers.image.title":       "lbgate",
		"org.opencontainers.image.description": "Binds pod IPs straight to a load balancer and holds each pod's readiness gate until the load balancer's health check passes",
		"org.opencontainers.image.version":     c.Version,
		"org.opencontainers.image.source":      c.Source,
	}
	if c.Revision != "" {
		labels["org.opencontainers.image.revision"] = c.Revision
	}
	img, err := Build(Options{Binary: c.Binary, CABundle: c.CABundle, Arch: c.Arch, Created: c.Created, Labels: labels})
	if err != nil {
		return Written{}, err
	}
	return Write(img, tag, c.Out)
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch os.Args[1] {
	case "build":
		err = buildCmd(ctx, os.Args[2:])
	case "set-image":
		err = setImageCmd(os.Args[2:])
	case "-h", "--help", "help":
		usage(os.Stdout)
		return
	default:
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: image build --img NAME:TAG [flags]   (build the operator's image; build -h lists the flags)")
	fmt.Fprintln(w, "       image set-image --img REF [--kustomization FILE]   (make the install run REF)")
}

func buildCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("image build", flag.ExitOnError)
	c := Config{Dir: ".", Package: "./cmd/lbgate"}
	fs.StringVar(&c.Img, "img", "", "image name and tag, e.g. lbgate:dev (the Makefile's IMG)")
	fs.StringVar(&c.Out, "out", "bin/image", "directory for lbgate.tar, the OCI layout oci/ and the binary built")
	fs.StringVar(&c.Binary, "binary", "", "a static linux binary to put in the image; empty builds "+c.Package)
	fs.StringVar(&c.Arch, "arch", runtime.GOARCH, "GOARCH of the binary and the image")
	fs.StringVar(&c.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM roots copied to "+CABundlePath+" (for HTTPS to a cloud API); empty for none")
	fs.StringVar(&c.Version, "version", "", "org.opencontainers.image.version label; the tag of --img when empty")
	fs.StringVar(&c.Revision, "revision", "", "org.opencontainers.image.revision label (a commit)")
	fs.StringVar(&c.Source, "source", defaultSource, "org.opencontainers.image.source label")
	kustomization := fs.String("kustomization", defaultKustomization, "the install's kustomization, to say whether it runs --img")
	_ = fs.Parse(args)
	if c.Img == "" {
		return fmt.Errorf("--img is required (e.g. --img lbgate:dev)")
	}
	created, err := sourceDate(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	c.Created = created
	if c.CABundle != "" {
		if _, err := os.Stat(c.CABundle); err != nil {
			return fmt.Errorf("--ca-bundle %s: %w (apt-get install ca-certificates, or --ca-bundle= for an image without roots)", c.CABundle, err)
		}
	}
	start := time.Now()
	w, err := Run(ctx, c)
	if err != nil {
		return err
	}
	fmt.Printf("built %s for linux/%s in %s\n", c.Img, c.Arch, time.Since(start).Round(100*time.Millisecond))
	fmt.Printf("  digest    %s\n  image ID  %s\n", w.Digest, w.ID)
	fmt.Printf("  tarball   %s   (docker load -i, podman load -i, kind load image-archive)\n", w.Tarball)
	fmt.Printf("  OCI dir   %s   (tag %s; skopeo or crane push it)\n", w.Layout, tagOf(c.Img))
	if *kustomization != "" {
		installed, err := InstalledImage(*kustomization)
		switch {
		case err != nil:
			fmt.Printf("  (could not read the install's image: %v)\n", err)
		case installed == c.Img:
			fmt.Printf("the install (%s) runs %s\n", *kustomization, installed)
		default:
			fmt.Printf("the install (%s) runs %s, not %s: make set-image IMG=%s\n", *kustomization, installed, c.Img, c.Img)
		}
	}
	return nil
}

func setImageCmd(args []string) error {
	fs := flag.NewFlagSet("image set-image", flag.ExitOnError)
	img := fs.String("img", "", "image the install runs: name:tag or name@sha256:...")
	kustomization := fs.String("kustomization", defaultKustomization, "kustomization whose images entry "+strconv.Quote(ManagerImage)+" is set")
	_ = fs.Parse(args)
	if *img == "" {
		return fmt.Errorf("--img is required")
	}
	if err := SetImage(*kustomization, *img); err != nil {
		return err
	}
	fmt.Printf("the install (%s) now runs %s\n", *kustomization, *img)
	return nil
}

// sourceDate is the time SOURCE_DATE_EPOCH (seconds) says, or Unix time 0
// when it is empty, so that builds of the same binary are identical.
func sourceDate(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want whole seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func tagOf(img string) string {
	if t, err := name.NewTag(img); err == nil {
		return t.TagStr()
	}
	return ""
}
