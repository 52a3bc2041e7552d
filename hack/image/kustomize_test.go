package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

func TestSplitRef(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		ref, repo, tag, digest string
		err                    bool
	}{
		{ref: "lbgate:dev", repo: "lbgate", tag: "dev"},
		{ref: "lbgate", repo: "lbgate"},
		{ref: "registry.example:5000/team/lbgate:v1.2", repo: "registry.example:5000/team/lbgate", tag: "v1.2"},
		{ref: "registry.example:5000/lbgate", repo: "registry.example:5000/lbgate"},
		{ref: "ghcr.io/lbgate/lbgate@" + digest, repo: "ghcr.io/lbgate/lbgate", digest: digest},
		{ref: "Upper/Case:dev", err: true},
		{ref: "lbgate:", err: true},
		{ref: "lbgate@sha256:short", err: true},
	} {
		repo, tag, dg, err := splitRef(tc.ref)
		if (err != nil) != tc.err || repo != tc.repo || tag != tc.tag || dg != tc.digest {
			t.Errorf("splitRef(%q) = %q, %q, %q, %v; want %q, %q, %q, error %v", tc.ref, repo, tag, dg, err, tc.repo, tc.tag, tc.digest, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), "IMG") {
			t.Errorf("splitRef(%q): %v does not name IMG", tc.ref, err)
		}
	}
}

func TestSetImage(t *testing.T) {
	const start = `resources:
- manager.yaml
# which image runs
images:
- name: other
  newTag: "3"
- name: lbgate
  newName: lbgate
  newTag: dev
`
	digest := "sha256:" + strings.Repeat("0f", 32)
	for _, tc := range []struct {
		name, start, ref string
	}{
		{"tag", start, "registry.example/team/lbgate:v1"},
		{"digest replaces the tag", start, "registry.example/lbgate@" + digest},
		{"name only", start, "registry.example/lbgate"},
		{"no images yet", "resources:\n- manager.yaml\n", "lbgate:v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "kustomization.yaml")
			if err := os.WriteFile(file, []byte(tc.start), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := SetImage(file, tc.ref); err != nil {
				t.Fatal(err)
			}
			got, err := InstalledImage(file)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.ref {
				t.Errorf("after SetImage(%s) the file installs %s", tc.ref, got)
			}
			out, _ := os.ReadFile(file)
			if strings.Contains(tc.start, "# which image runs") && !strings.Contains(string(out), "# which image runs") {
				t.Errorf("the comment was lost:\n%s", out)
			}
			if strings.Contains(tc.start, "name: other") && !strings.Contains(string(out), "- name: other\n  newTag: \"3\"") {
				t.Errorf("the other images entry changed:\n%s", out)
			}
			if strings.Count(string(out), "name: "+ManagerImage+"\n") != 1 {
				t.Errorf("want one entry %q:\n%s", ManagerImage, out)
			}
		})
	}

	file := filepath.Join(t.TempDir(), "kustomization.yaml")
	if err := os.WriteFile(file, []byte(start), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := SetImage(file, "Not/Valid:x"); err == nil || !strings.Contains(err.Error(), "IMG") {
		t.Errorf("SetImage of an invalid reference: %v, want an error naming IMG", err)
	}
	if out, _ := os.ReadFile(file); string(out) != start {
		t.Errorf("a refused SetImage changed the file:\n%s", out)
	}
}

// TestInstallRunsIMG: the image the Makefile builds by default is the one
// the install runs, after kustomize's own build of config/default.
func TestInstallRunsIMG(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join(moduleRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^IMG \?= (\S+)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile sets no IMG ?= default")
	}
	img := string(m[1])
	installed, err := InstalledImage(filepath.Join(moduleRoot, defaultKustomization))
	if err != nil {
		t.Fatal(err)
	}
	if installed != img {
		t.Errorf("%s installs %s, the Makefile's IMG is %s", defaultKustomization, installed, img)
	}

	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(moduleRoot, "config/default"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range res.Resources() {
		if r.GetKind() != "Deployment" {
			continue
		}
		raw, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var dep appsv1.Deployment
		if err := yaml.Unmarshal(raw, &dep); err != nil {
			t.Fatal(err)
		}
		for _, c := range dep.Spec.Template.Spec.Containers {
			found = true
			if c.Image != img {
				t.Errorf("config/default: Deployment %s container %s runs %q, want IMG %s", dep.Name, c.Name, c.Image, img)
			}
		}
	}
	if !found {
		t.Error("config/default holds no Deployment container")
	}
}

// TestDockerfile: the Dockerfile builds an image that runs like the one
// `make image` builds, with the Go of go.mod.
func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile(filepath.Join(moduleRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(moduleRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}
	text := string(df)
	final := text[strings.LastIndex(text, "\nFROM "):]
	for _, want := range []string{
		"\nARG GO_VERSION=" + string(goVersion[1]) + "\n",
		"CGO_ENABLED=0",
		"./cmd/lbgate",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the Dockerfile lacks %q", strings.TrimSpace(want))
		}
	}
	for _, want := range []string{
		"\nCOPY --from=build /out/lbgate /lbgate\n",
		"\nUSER " + User + "\n",
		"\nENTRYPOINT [\"" + BinaryPath + "\"]\n",
	} {
		if !strings.Contains(final, want) {
			t.Errorf("the Dockerfile's final stage lacks %q", strings.TrimSpace(want))
		}
	}
}
