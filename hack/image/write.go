package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Written says where an image went.
type Written struct {
	// Digest is the OCI manifest's digest (the layout's; a registry the
	// layout is pushed to keeps it).
	Digest v1.Hash
	// ID is the config's digest: the image ID `docker images` shows after
	// a load, the same in both forms.
	ID v1.Hash
	// Tarball is a `docker load`-able tarball (also read by podman load
	// and kind load image-archive) that tags the image.
	Tarball string
	// Layout is an OCI image layout directory holding only this image
	// (skopeo and crane read it; its ref.name is the tag).
	Layout string
}

// Write writes img, named tag, into dir as lbgate.tar and the layout
// directory oci/, replacing what an earlier build left there.
func Write(img v1.Image, tag name.Tag, dir string) (Written, error) {
	w := Written{Tarball: filepath.Join(dir, "lbgate.tar"), Layout: filepath.Join(dir, "oci")}
	var err error
	if w.Digest, err = img.Digest(); err != nil {
		return w, err
	}
	if w.ID, err = img.ConfigName(); err != nil {
		return w, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return w, err
	}
	if err := tarball.WriteToFile(w.Tarball, tag, img); err != nil {
		return w, fmt.Errorf("writing %s: %w", w.Tarball, err)
	}
	if err := os.RemoveAll(w.Layout); err != nil {
		return w, err
	}
	p, err := layout.Write(w.Layout, empty.Index)
	if err != nil {
		return w, fmt.Errorf("writing %s: %w", w.Layout, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
	})); err != nil {
		return w, fmt.Errorf("writing %s: %w", w.Layout, err)
	}
	return w, nil
}
