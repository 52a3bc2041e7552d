package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// moduleRoot is where ./cmd/lbgate is built from.
const moduleRoot = "../.."

// TestImage builds the operator's image as `make image` does (the binary
// from ./cmd/lbgate, once), reads both written forms back, looks at every
// file of its one layer, and runs the binary it holds.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the operator binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	roots := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(roots, []byte("-----BEGIN CERTIFICATE-----\nroots of the test\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1700000000, 0).UTC()
	c := Config{
		Img: "registry.example:5000/team/lbgate:v0.1.0-test", Out: t.TempDir(),
		Dir: moduleRoot, Package: "./cmd/lbgate", Arch: runtime.GOARCH, CABundle: roots,
		Revision: "0123abcd", Source: defaultSource, Created: created,
	}
	start := time.Now()
	w, err := Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built the binary and the image in %s: %s", time.Since(start).Round(time.Second), w.Digest)

	tag, err := name.NewTag(c.Img)
	if err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(w.Tarball, &tag)
	if err != nil {
		t.Fatalf("reading %s as %s: %v", w.Tarball, tag, err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(w.Tarball) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{c.Img}) {
		t.Errorf("the tarball's manifest.json %+v: want one image tagged %s (docker load names it so)", m, c.Img)
	}

	idx, err := layout.ImageIndexFromPath(w.Layout)
	if err != nil {
		t.Fatalf("reading the layout %s: %v", w.Layout, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != w.Digest ||
		im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v0.1.0-test" {
		t.Fatalf("the layout's index %+v: want only the image %s, ref.name v0.1.0-test", im.Manifests, w.Digest)
	}
	fromLayout, err := idx.Image(w.Digest)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := fromLayout.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if manifest.MediaType != types.OCIManifestSchema1 || manifest.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest media types %s, config %s: want OCI", manifest.MediaType, manifest.Config.MediaType)
	}
	if len(manifest.Layers) != 1 || manifest.Layers[0].MediaType != types.OCILayer {
		t.Fatalf("layers %+v: want exactly one gzipped OCI layer (the binary on an empty base)", manifest.Layers)
	}

	for form, img := range map[string]v1.Image{"tarball": fromTar, "layout": fromLayout} {
		id, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		if id != w.ID {
			t.Errorf("%s: image ID %s, want %s", form, id, w.ID)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 1 {
			t.Fatalf("%s: %d layers, want 1", form, len(layers))
		}
		if d, _ := layers[0].Digest(); d != manifest.Layers[0].Digest {
			t.Errorf("%s: layer %s, want %s", form, d, manifest.Layers[0].Digest)
		}
	}

	cf, err := fromLayout.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("config", func(t *testing.T) {
		cfg := cf.Config
		if !slices.Equal(cfg.Entrypoint, []string{"/lbgate"}) || len(cfg.Cmd) != 0 {
			t.Errorf("entrypoint %q, cmd %q: want [/lbgate] and no cmd", cfg.Entrypoint, cfg.Cmd)
		}
		if cfg.User != "65532:65532" {
			t.Errorf("user %q, want 65532:65532", cfg.User)
		}
		uid, gid, ok := strings.Cut(cfg.User, ":")
		for _, id := range []string{uid, gid} {
			// Numeric, so that runAsNonRoot can be checked without /etc/passwd.
			if n, err := strconv.Atoi(id); !ok || err != nil || n == 0 {
				t.Errorf("user %q: want a numeric non-root uid:gid", cfg.User)
			}
		}
		if cfg.WorkingDir != "/" || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
			t.Errorf("workdir %q, platform %s/%s: want / and linux/%s", cfg.WorkingDir, cf.OS, cf.Architecture, runtime.GOARCH)
		}
		if !cf.Created.Equal(created) {
			t.Errorf("created %s, want %s", cf.Created, created)
		}
		for k, v := range map[string]string{
			"org.opencontainers.image.title":    "lbgate",
			"org.opencontainers.image.version":  "v0.1.0-test",
			"org.opencontainers.image.revision": "0123abcd",
			"org.opencontainers.image.source":   defaultSource,
		} {
			if cfg.Labels[k] != v {
				t.Errorf("label %s=%q, want %q", k, cfg.Labels[k], v)
			}
		}
	})

	layers, _ := fromLayout.Layers()
	entries, contents := readLayer(t, layers[0])
	t.Run("layer", func(t *testing.T) {
		var names []string
		for n := range entries {
			names = append(names, n)
		}
		slices.Sort(names)
		want := []string{"etc/", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt", "lbgate"}
		if !slices.Equal(names, want) {
			t.Errorf("the layer holds %q, want exactly %q", names, want)
		}
		for _, n := range names {
			if base := path.Base(n); slices.Contains([]string{"sh", "bash", "dash", "ash", "busybox", "bin"}, base) {
				t.Errorf("the layer holds %s: the image must have no shell", n)
			}
			h := entries[n]
			if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(created) {
				t.Errorf("%s: owner %d:%d, time %s; want 0:0 (not writable by the operator's user) and %s", n, h.Uid, h.Gid, h.ModTime, created)
			}
		}
		for n, mode := range map[string]int64{"lbgate": 0o555, "etc/ssl/certs/ca-certificates.crt": 0o444} {
			if h := entries[n]; h == nil || h.Typeflag != tar.TypeReg || h.Mode != mode {
				t.Errorf("%s: want a regular file of mode %#o (got %+v)", n, mode, h)
			}
		}
		if want, _ := os.ReadFile(roots); !bytes.Equal(contents["etc/ssl/certs/ca-certificates.crt"], want) {
			t.Errorf("the CA bundle in the image differs from --ca-bundle %s", roots)
		}
	})

	t.Run("binary starts", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "lbgate")
		if err := os.WriteFile(bin, contents["lbgate"], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := CheckBinary(bin, runtime.GOARCH); err != nil {
			t.Errorf("the binary in the image: %v", err)
		}
		cmd := exec.CommandContext(ctx, bin, "--help")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		// The flag package prints the usage on stderr and exits 0 for --help.
		if err != nil {
			t.Fatalf("/lbgate --help: %v\n%s", err, stderr.String())
		}
		for _, flag := range []string{"-provider", "-leader-elect", "-webhook-port"} {
			if !strings.Contains(stderr.String(), flag) {
				t.Errorf("/lbgate --help does not list %s:\n%s", flag, stderr.String())
			}
		}
	})

	t.Run("reproducible", func(t *testing.T) {
		// The binary built above, given as --binary, into another
		// directory: the same bytes give the same image.
		again := c
		again.Binary, again.Out = filepath.Join(c.Out, "lbgate-linux-"+c.Arch), t.TempDir()
		w2, err := Run(ctx, again)
		if err != nil {
			t.Fatal(err)
		}
		if w2.Digest != w.Digest || w2.ID != w.ID {
			t.Errorf("a second build of the same binary: %s (ID %s), want %s (ID %s)", w2.Digest, w2.ID, w.Digest, w.ID)
		}
	})
}

// readLayer lists the layer's entries by name, with the contents of its
// regular files.
func readLayer(t *testing.T, l v1.Layer) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	entries, contents := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := entries[h.Name]; dup {
			t.Errorf("the layer holds %s twice", h.Name)
		}
		entries[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			if contents[h.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	return entries, contents
}

func TestRunRefusesBadInput(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"IMG without a name", Config{Img: ":dev", Binary: exe, Arch: runtime.GOARCH}, `IMG ":dev"`},
		{"IMG by digest", Config{Img: "lbgate@sha256:" + strings.Repeat("a", 64), Binary: exe, Arch: runtime.GOARCH}, "name:tag"},
		{"unknown arch", Config{Img: "lbgate:dev", Binary: exe, Arch: "vax"}, `--arch "vax"`},
		{"not ELF", Config{Img: "lbgate:dev", Binary: text, Arch: runtime.GOARCH}, "not an ELF executable"},
		{"other arch", Config{Img: "lbgate:dev", Binary: exe, Arch: other}, "--arch " + other},
		{"missing", Config{Img: "lbgate:dev", Binary: filepath.Join(t.TempDir(), "none"), Arch: runtime.GOARCH}, "--binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Out = t.TempDir()
			_, err := Run(context.Background(), tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error saying %q", err, tc.want)
			}
			if left, _ := os.ReadDir(tc.c.Out); len(left) != 0 {
				t.Errorf("a refused build left %d files in --out", len(left))
			}
		})
	}
}

// TestCheckBinaryDynamic: a binary that needs a dynamic loader cannot run
// on the empty base.
func TestCheckBinaryDynamic(t *testing.T) {
	const ls = "/bin/ls" // Debian's is dynamically linked
	if _, err := os.Stat(ls); err != nil {
		t.Skip(err)
	}
	err := CheckBinary(ls, runtime.GOARCH)
	if err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Fatalf("CheckBinary(%s): %v, want dynamically linked", ls, err)
	}
}

func TestSourceDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Unix(0, 0), false},
		{"1700000000", time.Unix(1700000000, 0), false},
		{"-1", time.Time{}, true},
		{"2024-01-01", time.Time{}, true},
	} {
		got, err := sourceDate(tc.in)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("sourceDate(%q) = %s, %v; want %s, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParents(t *testing.T) {
	for in, want := range map[string][]string{
		"/lbgate":                            nil,
		"/etc/ssl/certs/ca-certificates.crt": {"etc", "etc/ssl", "etc/ssl/certs"},
	} {
		if got := parents(in); !slices.Equal(got, want) {
			t.Errorf("parents(%q) = %q, want %q", in, got, want)
		}
	}
}
