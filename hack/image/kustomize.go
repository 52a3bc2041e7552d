package main

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ManagerImage is the image name config/manager/manager.yaml writes; the
// kustomization's images entry of that name says which image is installed.
const ManagerImage = "lbgate"

// splitRef splits an image reference as written (no registry added) into
// its name and either its tag or its digest. It fails when ref is not a
// valid reference.
func splitRef(ref string) (repo, tag, digest string, err error) {
	if _, err := name.ParseReference(ref); err != nil {
		return "", "", "", fmt.Errorf("IMG %q: %w", ref, err)
	}
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], "", ref[i+1:], nil
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:], "", nil
	}
	return ref, "", "", nil
}

// SetImage points the images entry named ManagerImage of the
// kustomization file at ref (name:tag or name@digest), adding the entry
// when missing, and keeps the rest of the file and its comments.
func SetImage(path, ref string) error {
	repo, tag, digest, err := splitRef(ref)
	if err != nil {
		return err
	}
	doc, err := yaml.ReadFile(path)
	if err != nil {
		return err
	}
	images, err := doc.Pipe(yaml.LookupCreate(yaml.SequenceNode, "images"))
	if err != nil {
		return fmt.Errorf("%s: images: %w", path, err)
	}
	entry, err := images.Pipe(yaml.ElementMatcher{Keys: []string{"name"}, Values: []string{ManagerImage}, Create: yaml.NewMapRNode(&map[string]string{"name": ManagerImage})})
	if err != nil {
		return fmt.Errorf("%s: images entry %q: %w", path, ManagerImage, err)
	}
	set := map[string]string{"newName": repo, "newTag": tag, "digest": digest}
	for _, field := range []string{"newName", "newTag", "digest"} {
		var err error
		if set[field] == "" {
			_, err = entry.Pipe(yaml.Clear(field))
		} else {
			err = entry.PipeE(yaml.SetField(field, yaml.NewStringRNode(set[field])))
		}
		if err != nil {
			return fmt.Errorf("%s: images entry %q: %s: %w", path, ManagerImage, field, err)
		}
	}
	return yaml.WriteFile(doc, path)
}

// InstalledImage is the image the kustomization file installs for
// ManagerImage, written as a reference (name:tag or name@digest), or
// ManagerImage itself when it has no such entry.
func InstalledImage(path string) (string, error) {
	doc, err := yaml.ReadFile(path)
	if err != nil {
		return "", err
	}
	entry, err := doc.Pipe(yaml.Lookup("images"), yaml.MatchElement("name", ManagerImage))
	if err != nil {
		return "", fmt.Errorf("%s: images: %w", path, err)
	}
	if entry == nil {
		return ManagerImage, nil
	}
	field := func(f string) string {
		n := entry.Field(f)
		if n == nil {
			return ""
		}
		return yaml.GetValue(n.Value)
	}
	ref := field("newName")
	if ref == "" {
		ref = ManagerImage
	}
	switch {
	case field("digest") != "":
		ref += "@" + field("digest")
	case field("newTag") != "":
		ref += ":" + field("newTag")
	}
	return ref, nil
}
