package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and identity inside the image.
const (
	// BinaryPath is where the operator binary sits, and the entrypoint.
	BinaryPath = "/lbgate"
	// CABundlePath is where Go's crypto/x509 looks first for trusted roots
	// on Linux; the operator needs them for a cloud provider's HTTPS API.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// User is the numeric user and group the operator runs as (the
	// "nonroot" user of distroless images, which the Dockerfile uses too).
	User = "65532:65532"
)

// Options say what goes into the image.
type Options struct {
	// Binary is a static linux executable for Arch (see CheckBinary).
	Binary string
	// CABundle is a PEM file of trusted roots copied to CABundlePath;
	// empty leaves the image without one.
	CABundle string
	// Arch is the GOARCH of Binary and the image's architecture.
	Arch string
	// Created stamps the layer's files and the config (reproducible
	// builds pass a fixed time, e.g. from SOURCE_DATE_EPOCH).
	Created time.Time
	// Labels are the config's labels (org.opencontainers.image.*).
	Labels map[string]string
}

// Build makes the image: one layer holding the binary (and the CA bundle)
// on an empty base, with no shell and nothing else, run as User.
func Build(o Options) (v1.Image, error) {
	if err := CheckBinary(o.Binary, o.Arch); err != nil {
		return nil, err
	}
	files := []file{{path: BinaryPath, src: o.Binary, mode: 0o555}}
	if o.CABundle != "" {
		files = append(files, file{path: CABundlePath, src: o.CABundle, mode: 0o444})
	}
	blob, err := layerTar(files, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("reading the layer back: %w", err)
	}

	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: o.Created},
			CreatedBy: "hack/image: " + BinaryPath + " (static, CGO_ENABLED=0)",
			Comment:   "the lbgate operator, no shell",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = nil
	cf.Config.User = User
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = maps.Clone(o.Labels)
	return mutate.ConfigFile(img, cf)
}

// file is one regular file of the layer, copied from src.
type file struct {
	path string
	src  string
	mode int64
}

// layerTar writes the files, with their parent directories, as a gzipped
// tar. Everything is owned by root and stamped with created, so the same
// inputs give the same digest; the files are not writable, not even by
// the user the operator runs as.
func layerTar(files []file, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	for _, f := range files {
		for _, d := range parents(f.path) {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: created,
			}); err != nil {
				return nil, err
			}
		}
		if err := addFile(tw, f, created); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func addFile(tw *tar.Writer, f file, created time.Time) error {
	in, err := os.Open(f.src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // read only: nothing to lose
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &fs.PathError{Op: "add to image", Path: f.src, Err: fmt.Errorf("not a regular file (%s)", st.Mode())}
	}
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: f.path[1:], Mode: f.mode, Size: st.Size(), ModTime: created,
	}); err != nil {
		return err
	}
	_, err = io.Copy(tw, in)
	return err
}

// parents lists the directories above an absolute path, outermost first,
// without the leading slash: "/etc/ssl/x" gives "etc", "etc/ssl".
func parents(p string) []string {
	var out []string
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[1:i])
		}
	}
	return out
}
