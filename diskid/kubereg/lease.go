package kubereg

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/spdk-agent/spdk-agent/diskid"
)

// Names of the Lease objects and of their labels and annotations.
const (
	// LeasePrefix starts the name of every claim: spdk-disk-<prefix>.
	LeasePrefix = "spdk-disk-"
	// LabelNode is the node holding the disk.
	LabelNode = "spdk-agent.io/node"
	// LabelKind is "filesystem" or "lvstore"; every claim has it, and the
	// informer selects claims by it.
	LabelKind = "spdk-agent.io/kind"
	// LabelDisk is the disk path or lvstore name in a form a label can
	// hold (see diskLabel); AnnotationDisk holds it exactly.
	LabelDisk      = "spdk-agent.io/disk"
	AnnotationDisk = "spdk-agent.io/disk"
)

// ErrBadLease is returned by ParseLease for a Lease that is not a valid
// claim.
var ErrBadLease = errors.New("not a valid disk claim")

// LeaseName returns the name of the Lease claiming prefix.
func LeaseName(prefix string) string { return LeasePrefix + prefix }

// diskLabel makes a label value of a disk path or lvstore name: the path
// with its slashes as dots ("/mnt/disk1" is "mnt.disk1") when that is a
// valid label value, otherwise a hash of it. The annotation keeps the
// exact path; the label is for selecting and for people.
func diskLabel(disk string) string {
	v := strings.ReplaceAll(strings.Trim(disk, "/"), "/", ".")
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	sum := sha256.Sum256([]byte(disk))
	return "sha256-" + hex.EncodeToString(sum[:16])
}

// newLease builds the Lease claiming c.Prefix for c.UUID, owned by node.
func newLease(namespace string, c diskid.ClaimSpec, node *metav1.OwnerReference) *coordinationv1.Lease {
	holder := string(c.UUID)
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name:        LeaseName(c.Prefix),
			Namespace:   namespace,
			Labels:      map[string]string{LabelNode: c.Node, LabelKind: string(c.Kind), LabelDisk: diskLabel(c.Disk)},
			Annotations: map[string]string{AnnotationDisk: c.Disk},
		},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder},
	}
	if node != nil {
		l.OwnerReferences = []metav1.OwnerReference{*node}
	}
	return l
}

// nodeOwner is the owner reference of a claim to its Node. It does not
// block the owner's deletion: that would need update rights on nodes.
func nodeOwner(n *corev1.Node) *metav1.OwnerReference {
	return &metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}
}

// ParseLease reads a claim. The Lease's name must be LeasePrefix followed by
// the prefix of its holder's UUID, and the kind label must be known.
func ParseLease(l *coordinationv1.Lease) (diskid.ClaimSpec, error) {
	prefix, ok := strings.CutPrefix(l.Name, LeasePrefix)
	if !ok || prefix == "" {
		return diskid.ClaimSpec{}, fmt.Errorf("%w: lease %s: name does not start with %s", ErrBadLease, l.Name, LeasePrefix)
	}
	if l.Spec.HolderIdentity == nil {
		return diskid.ClaimSpec{}, fmt.Errorf("%w: lease %s: no holder", ErrBadLease, l.Name)
	}
	u, err := diskid.ParseDiskUUID(*l.Spec.HolderIdentity)
	if err != nil {
		return diskid.ClaimSpec{}, fmt.Errorf("%w: lease %s: holder: %w", ErrBadLease, l.Name, err)
	}
	if len(prefix) > 32 || u.Prefix(len(prefix)) != prefix {
		return diskid.ClaimSpec{}, fmt.Errorf("%w: lease %s: holder %s does not have prefix %q", ErrBadLease, l.Name, u, prefix)
	}
	kind := diskid.Kind(l.Labels[LabelKind])
	if kind != diskid.KindFilesystem && kind != diskid.KindLvstore {
		return diskid.ClaimSpec{}, fmt.Errorf("%w: lease %s: kind %q", ErrBadLease, l.Name, kind)
	}
	return diskid.ClaimSpec{Prefix: prefix, UUID: u, Node: l.Labels[LabelNode], Disk: l.Annotations[AnnotationDisk], Kind: kind}, nil
}
