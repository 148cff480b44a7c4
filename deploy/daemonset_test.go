package deploy

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// agentDrainSeconds is how long the agent drains in-flight calls on SIGTERM.
const agentDrainSeconds = 20

// probeClientTimeoutSeconds is "spdk-agent probe"'s default --timeout.
const probeClientTimeoutSeconds = 3

func agentContainer(t *testing.T, ds *appsv1.DaemonSet) corev1.Container {
	t.Helper()
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == "spdk-agent" {
			return c
		}
	}
	t.Fatal("the DaemonSet has no container named spdk-agent")
	return corev1.Container{}
}

// flagValue returns the value of --name=value or --name value in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// dockerEntrypoint is the binary the image runs, from the Dockerfile.
func dockerEntrypoint(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]`).FindSubmatch(data)
	if m == nil {
		t.Fatal("Dockerfile has no exec-form ENTRYPOINT")
	}
	return string(m[1])
}

// mountFor returns the mount whose mountPath holds p, and its volume.
func mountFor(t *testing.T, pod corev1.PodSpec, c corev1.Container, p string) (corev1.VolumeMount, corev1.Volume) {
	t.Helper()
	var best corev1.VolumeMount
	for _, m := range c.VolumeMounts {
		if (p == m.MountPath || strings.HasPrefix(p, m.MountPath+"/")) && len(m.MountPath) > len(best.MountPath) {
			best = m
		}
	}
	if best.Name == "" {
		t.Fatalf("no volume mount holds %s", p)
	}
	for _, v := range pod.Volumes {
		if v.Name == best.Name {
			return best, v
		}
	}
	t.Fatalf("mount %s names no volume", best.Name)
	return best, corev1.Volume{}
}

func TestDaemonSet_probes(t *testing.T) {
	ds := find[*appsv1.DaemonSet](t, decodeAll(t))
	c := agentContainer(t, ds)
	entry := dockerEntrypoint(t)
	for _, tc := range []struct {
		name     string
		probe    *corev1.Probe
		endpoint string
	}{
		{"startupProbe", c.StartupProbe, "livez"},
		{"livenessProbe", c.LivenessProbe, "livez"},
		{"readinessProbe", c.ReadinessProbe, "readyz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.probe == nil || tc.probe.Exec == nil {
				t.Fatalf("%s is not an exec probe", tc.name)
			}
			want := []string{entry, "probe", tc.endpoint}
			if !slices.Equal(tc.probe.Exec.Command, want) {
				t.Errorf("%s command = %q, want %q", tc.name, tc.probe.Exec.Command, want)
			}
			if tc.probe.TimeoutSeconds <= probeClientTimeoutSeconds {
				t.Errorf("%s timeoutSeconds = %d: kubelet would kill the probe before it reports its own timeout (%d s)",
					tc.name, tc.probe.TimeoutSeconds, probeClientTimeoutSeconds)
			}
		})
	}
}

func TestDaemonSet_pathsAndFlags(t *testing.T) {
	ds := find[*appsv1.DaemonSet](t, decodeAll(t))
	pod := ds.Spec.Template.Spec
	c := agentContainer(t, ds)
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("args = %q, want the run command first", c.Args)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}

	for _, tc := range []struct {
		flag, hostPath string
		readOnly       bool
	}{
		{"spdk-socket", "/var/lib/spdk-agent/spdk", true},
		{"rpc-socket", "/var/tmp", false},
		{"health-socket", "/run/spdk-agent", false},
		{"state-dir", "/var/lib/spdk-agent", false},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			p, ok := flagValue(c.Args, tc.flag)
			if !ok {
				t.Fatalf("--%s is not set", tc.flag)
			}
			m, v := mountFor(t, pod, c, p)
			if v.HostPath == nil || v.HostPath.Path != tc.hostPath {
				t.Errorf("--%s %s is on volume %s, want hostPath %s", tc.flag, p, v.Name, tc.hostPath)
			}
			if m.ReadOnly != tc.readOnly {
				t.Errorf("--%s mount readOnly = %v, want %v", tc.flag, m.ReadOnly, tc.readOnly)
			}
			if m.SubPath != "" {
				t.Errorf("--%s is mounted with subPath %q", tc.flag, m.SubPath)
			}
		})
	}

	// Sole gateway: the agent serves SPDK's well-known path, and spdk_tgt's
	// own socket is elsewhere.
	if p, _ := flagValue(c.Args, "rpc-socket"); p != "/var/tmp/spdk.sock" {
		t.Errorf("--rpc-socket = %q, want SPDK's well-known /var/tmp/spdk.sock (sole gateway)", p)
	}
	if p, _ := flagValue(c.Args, "spdk-socket"); p == "/var/tmp/spdk.sock" {
		t.Error("--spdk-socket is SPDK's well-known path: clients could bypass the guard")
	}

	health, _ := flagValue(c.Args, "health-socket")
	if e := env["SPDK_AGENT_HEALTH_SOCKET"]; e.Value != health {
		t.Errorf("SPDK_AGENT_HEALTH_SOCKET = %q, want --health-socket %q so that the probes find it", e.Value, health)
	}

	if reg, _ := flagValue(c.Args, "registry"); reg != "kube" {
		t.Errorf("--registry = %q, want kube: claims in the cluster", reg)
	}
	if ns, _ := flagValue(c.Args, "namespace"); ns != "$(POD_NAMESPACE)" {
		t.Errorf("--namespace = %q, want $(POD_NAMESPACE)", ns)
	}
	if e := env["POD_NAMESPACE"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE = %+v, want the downward API's metadata.namespace", e)
	}

	if e := env["NODE_NAME"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("NODE_NAME = %+v, want the downward API's spec.nodeName", e)
	}
	// The agent matches its own registry entries by node name; a pod's
	// hostname is the pod's name, so the node must be passed explicitly or
	// the node's own disks would collide with themselves.
	if node, ok := flagValue(c.Args, "node"); !ok || node != "$(NODE_NAME)" {
		t.Errorf("--node = %q (set %v), want $(NODE_NAME)", node, ok)
	}
}

func TestDaemonSet_securityAndScheduling(t *testing.T) {
	ds := find[*appsv1.DaemonSet](t, decodeAll(t))
	pod := ds.Spec.Template.Spec
	c := agentContainer(t, ds)
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("the container has no securityContext")
	}
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Error(what)
		}
	}
	check("privileged must be false", sc.Privileged != nil && !*sc.Privileged)
	check("allowPrivilegeEscalation must be false", sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation)
	check("readOnlyRootFilesystem must be true", sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem)
	check("capabilities must drop ALL and add none",
		sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(sc.Capabilities.Add) == 0)
	seccomp := sc.SeccompProfile
	if seccomp == nil && pod.SecurityContext != nil {
		seccomp = pod.SecurityContext.SeccompProfile
	}
	check("seccomp must be RuntimeDefault", seccomp != nil && seccomp.Type == corev1.SeccompProfileTypeRuntimeDefault)
	check("hostNetwork, hostPID and hostIPC must be off", !pod.HostNetwork && !pod.HostPID && !pod.HostIPC)

	check("priorityClassName must be system-node-critical", pod.PriorityClassName == "system-node-critical")
	check("updateStrategy must be RollingUpdate", ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType)
	grace := pod.TerminationGracePeriodSeconds
	check("terminationGracePeriodSeconds must exceed the agent's 20 s drain", grace != nil && *grace > agentDrainSeconds)
	check("a nodeSelector must pick storage nodes", len(pod.NodeSelector) > 1)
	check("tolerations must let the agent onto storage nodes", len(pod.Tolerations) > 0)
	check("the pod must mount its service account token (disk claims)",
		pod.AutomountServiceAccountToken != nil && *pod.AutomountServiceAccountToken)

	req, lim := c.Resources.Requests, c.Resources.Limits
	check("cpu and memory requests must be set", !req.Cpu().IsZero() && !req.Memory().IsZero())
	check("a memory limit must be set, at least the request", !lim.Memory().IsZero() && lim.Memory().Cmp(*req.Memory()) >= 0)

	sel := ds.Spec.Selector.MatchLabels
	for k, v := range sel {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template", k, v)
		}
	}
}

func TestService_matchesContainerAndServiceMonitor(t *testing.T) {
	objs := decodeAll(t)
	ds := find[*appsv1.DaemonSet](t, objs)
	svc := find[*corev1.Service](t, objs)
	sm := find[*monitoringv1.ServiceMonitor](t, objs)
	c := agentContainer(t, ds)

	addr, ok := flagValue(c.Args, "metrics-address")
	if !ok {
		t.Fatal("--metrics-address is not set")
	}
	_, portStr, _ := strings.Cut(addr, ":")
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("--metrics-address %q: %v", addr, err)
	}
	var containerPort *corev1.ContainerPort
	for i, p := range c.Ports {
		if p.Name == "metrics" {
			containerPort = &c.Ports[i]
		}
	}
	if containerPort == nil || containerPort.ContainerPort != int32(port) {
		t.Fatalf("container port metrics = %+v, want %d from --metrics-address", containerPort, port)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("service ports %+v, want one targeting the container port named metrics", svc.Spec.Ports)
	}
	for k, v := range svc.Spec.Selector {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("service selector %s=%s does not select the agent pods", k, v)
		}
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selector %s=%s does not select the service", k, v)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name {
		t.Errorf("ServiceMonitor endpoints %+v, want the service port %q", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}
}
