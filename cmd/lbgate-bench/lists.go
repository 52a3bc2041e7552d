package main

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// countable is a list waitCount can count.
type countable interface {
	list() client.ObjectList
	len() int
	kind() string
}

// bgList counts BackendGroups.
type bgList struct{ l v1alpha1.BackendGroupList }

func (b *bgList) list() client.ObjectList { return &b.l }
func (b *bgList) len() int                { return len(b.l.Items) }
func (b *bgList) kind() string            { return "BackendGroups" }
