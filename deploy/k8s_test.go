package deploy_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	k8sDir       = "k8s"
	namespace    = "concord"
	clusterLocal = "svc.cluster.local"
)

// strictDecoder decodes YAML into the typed Kubernetes objects of the kinds
// the manifests may use, failing on unknown or duplicate fields and on kinds
// it does not know.
func strictDecoder() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return k8sjson.NewSerializerWithOptions(k8sjson.DefaultMetaFactory, scheme, scheme,
		k8sjson.SerializerOptions{Yaml: true, Strict: true})
}

// decodeManifests decodes every YAML document of r. A strict decoding error
// (unknown field, duplicate field) is an error, not a warning.
func decodeManifests(dec runtime.Decoder, name string, r io.Reader) ([]runtime.Object, error) {
	var objs []runtime.Object
	y := k8syaml.NewYAMLReader(bufio.NewReader(r))
	for i := 0; ; i++ {
		doc, err := y.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		var probe map[string]any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(probe) == 0 {
			continue // only comments
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		objs = append(objs, obj)
	}
}

// cluster is every object of deploy/k8s, by kind and name.
type cluster struct {
	namespaces   map[string]*corev1.Namespace
	configMaps   map[string]*corev1.ConfigMap
	services     map[string]*corev1.Service
	accounts     map[string]*corev1.ServiceAccount
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	budgets      map[string]*policyv1.PodDisruptionBudget
	policies     map[string]*networkingv1.NetworkPolicy
}

// workload is what Deployments and StatefulSets have in common.
type workload struct {
	kind, name string
	replicas   int32
	selector   *metav1.LabelSelector
	pod        corev1.PodTemplateSpec
	claims     []corev1.PersistentVolumeClaim
}

func (c *cluster) workloads() []workload {
	var ws []workload
	for _, d := range c.deployments {
		ws = append(ws, workload{"Deployment", d.Name, ptrOr(d.Spec.Replicas, 1), d.Spec.Selector, d.Spec.Template, nil})
	}
	for _, s := range c.statefulSets {
		ws = append(ws, workload{"StatefulSet", s.Name, ptrOr(s.Spec.Replicas, 1), s.Spec.Selector, s.Spec.Template, s.Spec.VolumeClaimTemplates})
	}
	slices.SortFunc(ws, func(a, b workload) int { return strings.Compare(a.kind+a.name, b.kind+b.name) })
	return ws
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// loadCluster decodes every manifest file listed by the kustomization and
// checks that the kustomization lists exactly the manifest files present.
func loadCluster(t *testing.T) *cluster {
	t.Helper()
	var kust struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
		Images     []struct {
			Name    string `json:"name"`
			NewName string `json:"newName,omitempty"`
			NewTag  string `json:"newTag,omitempty"`
			Digest  string `json:"digest,omitempty"`
		} `json:"images"`
	}
	raw, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, &kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || kust.Kind != "Kustomization" || kust.Namespace != namespace {
		t.Errorf("kustomization.yaml: %s %s namespace %q, want kustomize.config.k8s.io/v1beta1 Kustomization in %q", kust.APIVersion, kust.Kind, kust.Namespace, namespace)
	}
	for _, img := range kust.Images {
		if img.Name != concordImage || img.NewTag == "" || img.NewTag == "latest" {
			t.Errorf("kustomization.yaml: image %+v, want %s with a pinned newTag", img, concordImage)
		}
	}
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifests []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			manifests = append(manifests, b)
		}
	}
	if !sameSet(manifests, kust.Resources) {
		t.Errorf("kustomization.yaml lists %v, the folder holds %v", kust.Resources, manifests)
	}

	c := &cluster{
		namespaces: map[string]*corev1.Namespace{}, configMaps: map[string]*corev1.ConfigMap{},
		services: map[string]*corev1.Service{}, accounts: map[string]*corev1.ServiceAccount{},
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		budgets: map[string]*policyv1.PodDisruptionBudget{}, policies: map[string]*networkingv1.NetworkPolicy{},
	}
	dec := strictDecoder()
	for _, name := range manifests {
		f, err := os.Open(filepath.Join(k8sDir, name))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeManifests(dec, name, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range objs {
			m, err := metaOf(obj)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			where := fmt.Sprintf("%s: %T %q", name, obj, m.GetName())
			for _, e := range validation.IsDNS1123Subdomain(m.GetName()) {
				t.Errorf("%s: bad name: %s", where, e)
			}
			if _, isNS := obj.(*corev1.Namespace); !isNS && m.GetNamespace() != namespace {
				t.Errorf("%s: namespace %q, want %q", where, m.GetNamespace(), namespace)
			}
			if m.GetLabels()["app.kubernetes.io/part-of"] != "concord" {
				t.Errorf("%s: want label app.kubernetes.io/part-of=concord", where)
			}
			dup := false
			switch o := obj.(type) {
			case *corev1.Namespace:
				dup = put(c.namespaces, o.Name, o)
			case *corev1.ConfigMap:
				dup = put(c.configMaps, o.Name, o)
			case *corev1.Service:
				dup = put(c.services, o.Name, o)
			case *corev1.ServiceAccount:
				dup = put(c.accounts, o.Name, o)
			case *appsv1.Deployment:
				dup = put(c.deployments, o.Name, o)
			case *appsv1.StatefulSet:
				dup = put(c.statefulSets, o.Name, o)
			case *policyv1.PodDisruptionBudget:
				dup = put(c.budgets, o.Name, o)
			case *networkingv1.NetworkPolicy:
				dup = put(c.policies, o.Name, o)
			case *corev1.Secret:
				t.Errorf("%s: a Secret is committed; secrets are created out of band", where)
			default:
				t.Errorf("%s: unexpected kind", where)
			}
			if dup {
				t.Errorf("%s: defined twice", where)
			}
		}
	}
	return c
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

func put[T any](m map[string]T, k string, v T) (dup bool) {
	_, dup = m[k]
	m[k] = v
	return dup
}

// TestStrictDecoding shows that the manifests' decoder refuses what the API
// server would refuse: unknown fields, duplicate fields, unknown kinds.
func TestStrictDecoding(t *testing.T) {
	tests := map[string]string{
		"unknown field":   "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 2\n",
		"nested unknown":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: 80\n      targetport: http\n",
		"duplicate field": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\ndata:\n  c: d\n",
		"unknown kind":    "apiVersion: v1\nkind: Sekret\nmetadata:\n  name: x\n",
		"wrong type":      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: two\n",
	}
	dec := strictDecoder()
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			if objs, err := decodeManifests(dec, name, strings.NewReader(doc)); err == nil {
				t.Errorf("decodeManifests(%q) = %v, want an error", doc, objs)
			}
		})
	}
	good := "# comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n"
	objs, err := decodeManifests(dec, "good", strings.NewReader(good))
	if err != nil || len(objs) != 1 {
		t.Errorf("decodeManifests(%q) = %v, %v; want one ConfigMap", good, objs, err)
	}
}

func TestKubernetesManifests(t *testing.T) {
	c := loadCluster(t)
	ns, ok := c.namespaces[namespace]
	if !ok {
		t.Fatalf("no Namespace %q", namespace)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("Namespace %s: want pod-security.kubernetes.io/enforce=restricted", namespace)
	}
	for _, w := range c.workloads() {
		t.Run(w.kind+"/"+w.name, func(t *testing.T) {
			checkWorkload(t, c, w)
		})
	}
	for _, s := range c.services {
		checkService(t, c, s)
	}
	for _, b := range c.budgets {
		checkBudget(t, c, b)
	}
	for _, p := range c.policies {
		checkPolicy(t, c, p)
	}
	checkConcord(t, c)
	checkEventStore(t, c)
	checkNATSCluster(t, c)
	checkConnectivity(t, c)
}

// checkWorkload checks what every pod must satisfy: its selector matches its
// labels, it meets the "restricted" Pod Security Standard, every container
// has probes whose ports exist, requests and limits, a pinned image, and
// every reference (volume, config map, service account) resolves.
func checkWorkload(t *testing.T, c *cluster, w workload) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(w.selector)
	if err != nil || sel.Empty() {
		t.Fatalf("selector %v: empty or invalid (%v)", w.selector, err)
	}
	if !sel.Matches(labels.Set(w.pod.Labels)) {
		t.Errorf("selector %v does not match the pod labels %v", w.selector, w.pod.Labels)
	}
	spec := w.pod.Spec
	checkRestricted(t, spec)
	if spec.ServiceAccountName != "" {
		if _, ok := c.accounts[spec.ServiceAccountName]; !ok {
			t.Errorf("service account %q is not defined", spec.ServiceAccountName)
		}
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken not false: no component needs the Kubernetes API")
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil {
			if _, ok := c.configMaps[v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s: ConfigMap %q is not defined", v.Name, v.ConfigMap.Name)
			}
		}
	}
	for _, pvc := range w.claims {
		volumes[pvc.Name] = true
		if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
			t.Errorf("volume claim %s: no storage request", pvc.Name)
		}
	}
	for _, ctr := range spec.Containers {
		where := "container " + ctr.Name
		if _, tag, ok := strings.Cut(ctr.Image, ":"); !ok || tag == "" || tag == "latest" || strings.Contains(tag, "/") {
			t.Errorf("%s: image %q, want a pinned tag", where, ctr.Image)
		}
		for _, m := range ctr.VolumeMounts {
			if !volumes[m.Name] {
				t.Errorf("%s: mount %s refers to no volume", where, m.Name)
			}
		}
		for _, e := range ctr.EnvFrom {
			if e.ConfigMapRef != nil {
				if _, ok := c.configMaps[e.ConfigMapRef.Name]; !ok {
					t.Errorf("%s: envFrom ConfigMap %q is not defined", where, e.ConfigMapRef.Name)
				}
			}
		}
		checkResources(t, where, ctr)
		for _, probe := range []struct {
			kind string
			p    *corev1.Probe
		}{{"readiness", ctr.ReadinessProbe}, {"liveness", ctr.LivenessProbe}, {"startup", ctr.StartupProbe}} {
			if probe.p == nil {
				if probe.kind != "startup" {
					t.Errorf("%s: no %s probe", where, probe.kind)
				}
				continue
			}
			if g := probe.p.HTTPGet; g == nil {
				t.Errorf("%s: %s probe is not an HTTP GET", where, probe.kind)
			} else if !containerHasPort(ctr, g.Port) {
				t.Errorf("%s: %s probe targets port %s, which the container does not declare", where, probe.kind, g.Port.String())
			}
		}
	}
}

// checkRestricted checks the controls of the "restricted" Pod Security
// Standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
func checkRestricted(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("pod shares a host namespace")
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			t.Errorf("volume %s is a hostPath", v.Name)
		}
	}
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	for _, ctr := range slices.Concat(spec.InitContainers, spec.Containers) {
		where := "container " + ctr.Name
		sc := ctr.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", where)
			continue
		}
		if !ptrOr(sc.RunAsNonRoot, ptrOr(psc.RunAsNonRoot, false)) {
			t.Errorf("%s: runAsNonRoot not set", where)
		}
		if uid := ptrOr(sc.RunAsUser, ptrOr(psc.RunAsUser, -1)); uid == 0 {
			t.Errorf("%s: runs as UID 0", where)
		}
		if ptrOr(sc.Privileged, false) || ptrOr(sc.AllowPrivilegeEscalation, true) {
			t.Errorf("%s: privileged or allowPrivilegeEscalation not false", where)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: capabilities do not drop ALL", where)
		} else {
			for _, a := range sc.Capabilities.Add {
				if a != "NET_BIND_SERVICE" {
					t.Errorf("%s: adds capability %s", where, a)
				}
			}
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			t.Errorf("%s: seccompProfile not RuntimeDefault", where)
		}
		for _, p := range ctr.Ports {
			if p.HostPort != 0 {
				t.Errorf("%s: hostPort %d", where, p.HostPort)
			}
		}
	}
}

// checkResources checks requests and limits for CPU and memory, requests not
// above limits, and a GOMEMLIMIT, if set, below the memory limit.
func checkResources(t *testing.T, where string, ctr corev1.Container) {
	t.Helper()
	r := ctr.Resources
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := r.Requests[name]
		lim, okLim := r.Limits[name]
		if !okReq || !okLim {
			t.Errorf("%s: %s request and limit both required (have %v / %v)", where, name, r.Requests, r.Limits)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above limit %s", where, name, req.String(), lim.String())
		}
	}
	for _, e := range ctr.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		// GOMEMLIMIT takes B, KiB, MiB, GiB, TiB; quantities spell them Ki, Mi...
		v := strings.TrimSuffix(strings.Replace(e.Value, "iB", "i", 1), "B")
		q, err := resource.ParseQuantity(v)
		lim, ok := r.Limits[corev1.ResourceMemory]
		if err != nil || !ok || q.Cmp(lim) >= 0 || q.Value() < lim.Value()*3/4 {
			t.Errorf("%s: GOMEMLIMIT %q, want 75–100%% of the memory limit %s", where, e.Value, lim.String())
		}
	}
}

// containerHasPort reports whether a container declares port p (by name or
// number).
func containerHasPort(ctr corev1.Container, p intstr.IntOrString) bool {
	for _, cp := range ctr.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return true
		}
	}
	return false
}

// selected returns the workloads whose pods the selector matches.
func (c *cluster) selected(sel labels.Selector) []workload {
	var ws []workload
	for _, w := range c.workloads() {
		if sel.Matches(labels.Set(w.pod.Labels)) {
			ws = append(ws, w)
		}
	}
	return ws
}

// checkService checks that a Service selects pods and that each target port
// is declared by every selected pod.
func checkService(t *testing.T, c *cluster, s *corev1.Service) {
	t.Helper()
	if len(s.Spec.Selector) == 0 {
		t.Errorf("Service %s: no selector", s.Name)
		return
	}
	ws := c.selected(labels.SelectorFromSet(s.Spec.Selector))
	if len(ws) == 0 {
		t.Errorf("Service %s: selector %v matches no pods", s.Name, s.Spec.Selector)
	}
	for _, p := range s.Spec.Ports {
		target := p.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(p.Port)
		}
		for _, w := range ws {
			if !slices.ContainsFunc(w.pod.Spec.Containers, func(ctr corev1.Container) bool { return containerHasPort(ctr, target) }) {
				t.Errorf("Service %s port %s: target %s is not a port of %s %s", s.Name, p.Name, target.String(), w.kind, w.name)
			}
		}
	}
}

// checkBudget checks that a PodDisruptionBudget covers exactly one workload
// and leaves room for a voluntary eviction (otherwise drains hang).
func checkBudget(t *testing.T, c *cluster, b *policyv1.PodDisruptionBudget) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Errorf("PodDisruptionBudget %s: empty or invalid selector", b.Name)
		return
	}
	ws := c.selected(sel)
	if len(ws) != 1 {
		t.Errorf("PodDisruptionBudget %s selects %d workloads, want 1", b.Name, len(ws))
		return
	}
	n := int(ws[0].replicas)
	switch {
	case b.Spec.MinAvailable != nil:
		min, err := intstr.GetScaledValueFromIntOrPercent(b.Spec.MinAvailable, n, true)
		if err != nil || min >= n || min < 1 {
			t.Errorf("PodDisruptionBudget %s: minAvailable %s of %d replicas, want 1..%d", b.Name, b.Spec.MinAvailable.String(), n, n-1)
		}
	case b.Spec.MaxUnavailable != nil:
		max, err := intstr.GetScaledValueFromIntOrPercent(b.Spec.MaxUnavailable, n, false)
		if err != nil || max < 1 {
			t.Errorf("PodDisruptionBudget %s: maxUnavailable %s allows no eviction", b.Name, b.Spec.MaxUnavailable.String())
		}
	default:
		t.Errorf("PodDisruptionBudget %s: neither minAvailable nor maxUnavailable", b.Name)
	}
}

// concordWorkloads returns the Deployments running the concord image with
// the given subcommand.
func concordWorkloads(c *cluster, sub string) []*appsv1.Deployment {
	var ds []*appsv1.Deployment
	for _, d := range c.deployments {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			if strings.HasPrefix(ctr.Image, concordImage+":") && len(ctr.Args) > 0 && ctr.Args[0] == sub {
				ds = append(ds, d)
			}
		}
	}
	return ds
}

// envValue resolves a container variable: from its env list first, then from
// the ConfigMaps of its envFrom (later entries win, as in Kubernetes; env
// wins over envFrom).
func envValue(c *cluster, ctr corev1.Container, name string) (string, bool) {
	for _, e := range ctr.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	val, found := "", false
	for _, ef := range ctr.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if cm, ok := c.configMaps[ef.ConfigMapRef.Name]; ok {
			if v, ok := cm.Data[strings.TrimPrefix(name, ef.Prefix)]; ok {
				val, found = v, true
			}
		}
	}
	return val, found
}

// checkConcord checks the API and worker Deployments: replicas, probes on
// /readyz and /healthz, hardened containers, and the JWT secret mounted from
// a Secret that is referenced, not committed.
func checkConcord(t *testing.T, c *cluster) {
	t.Helper()
	serve, workers := concordWorkloads(c, "serve"), concordWorkloads(c, "worker")
	if len(serve) != 1 || len(workers) != 1 {
		t.Fatalf("%d serve and %d worker Deployments, want 1 and 1", len(serve), len(workers))
	}
	if r := ptrOr(serve[0].Spec.Replicas, 1); r != 2 {
		t.Errorf("Deployment %s: %d replicas, want 2", serve[0].Name, r)
	}
	if r := ptrOr(workers[0].Spec.Replicas, 1); r < 1 {
		t.Errorf("Deployment %s: %d replicas, want at least 1", workers[0].Name, r)
	}
	for _, d := range []*appsv1.Deployment{serve[0], workers[0]} {
		ctr := d.Spec.Template.Spec.Containers[0]
		where := "Deployment " + d.Name
		if p := ctr.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
			t.Errorf("%s: readiness probe %+v, want GET /readyz", where, p)
		}
		if p := ctr.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: liveness probe %+v, want GET /healthz", where, p)
		}
		if sc := ctr.SecurityContext; sc == nil || !ptrOr(sc.ReadOnlyRootFilesystem, false) {
			t.Errorf("%s: root filesystem not read-only", where)
		}
		if psc := d.Spec.Template.Spec.SecurityContext; psc == nil || ptrOr(psc.RunAsUser, 0) != 65532 {
			t.Errorf("%s: want runAsUser 65532 (the image's nonroot user)", where)
		}
		listen, _ := envValue(c, ctr, "CONCORD_LISTEN")
		_, port, err := hostPort(listen)
		if err != nil || !containerHasPort(ctr, intstr.FromInt(port)) || port != concordPort {
			t.Errorf("%s: CONCORD_LISTEN %q does not match its container port %d (%v)", where, listen, concordPort, err)
		}
		if _, ok := envValue(c, ctr, "CONCORD_STORE"); !ok {
			t.Errorf("%s: CONCORD_STORE unset", where)
		}
		if bus, _ := envValue(c, ctr, "CONCORD_BUS"); !strings.HasPrefix(bus, "nats://") {
			t.Errorf("%s: CONCORD_BUS = %q, want nats:// (workers share jobs through JetStream)", where, bus)
		}
		for _, e := range ctr.Env {
			if secretLike(e.Name) && e.ValueFrom == nil && !strings.HasSuffix(e.Name, "_FILE") {
				t.Errorf("%s: %s carries a value inline", where, e.Name)
			}
		}
	}
	for _, cm := range c.configMaps {
		for k := range cm.Data {
			if secretLike(k) {
				t.Errorf("ConfigMap %s: %s looks like a secret", cm.Name, k)
			}
		}
	}

	// The JWT secret: a file in a Secret volume the manifests reference.
	d := serve[0]
	ctr := d.Spec.Template.Spec.Containers[0]
	path, _ := envValue(c, ctr, "CONCORD_JWT_SECRET_FILE")
	found := false
	for _, m := range ctr.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				found = found || it.Path == rel
			}
			if len(v.Secret.Items) == 0 {
				found = true // every key becomes a file
			}
			if mode := ptrOr(v.Secret.DefaultMode, 0o644); mode&0o007 != 0 {
				t.Errorf("Deployment %s: secret volume mode %o is world-readable", d.Name, mode)
			}
			if !m.ReadOnly {
				t.Errorf("Deployment %s: secret mounted writable", d.Name)
			}
		}
	}
	if !found {
		t.Errorf("Deployment %s: CONCORD_JWT_SECRET_FILE = %q is not a file of a mounted Secret volume", d.Name, path)
	}
	if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable == nil ||
		d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("Deployment %s: rolling update may drop below capacity; want maxUnavailable 0", d.Name)
	}
}

// serviceDNS is the cluster-internal DNS name of a Service.
func serviceDNS(svc string) string { return svc + "." + namespace + "." + clusterLocal }

// env of the first container, with $(VAR) references expanded the way the
// kubelet does: only variables defined earlier in the list.
func containerEnv(t *testing.T, ctr corev1.Container) map[string]string {
	t.Helper()
	out := map[string]string{}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	for _, e := range ctr.Env {
		if e.ValueFrom != nil {
			if f := e.ValueFrom.FieldRef; f != nil && f.FieldPath == "metadata.name" {
				out[e.Name] = "{pod}"
			}
			continue
		}
		out[e.Name] = ref.ReplaceAllStringFunc(e.Value, func(m string) string {
			name := ref.FindStringSubmatch(m)[1]
			v, ok := out[name]
			if !ok {
				t.Errorf("container %s: %s refers to $(%s), not defined before it", ctr.Name, e.Name, name)
			}
			return v
		})
	}
	return out
}

// checkEventStore checks the EventStoreDB StatefulSet against its headless
// Service, its disruption budget and Concord's connection string.
func checkEventStore(t *testing.T, c *cluster) {
	t.Helper()
	var sts *appsv1.StatefulSet
	for _, s := range c.statefulSets {
		if strings.HasPrefix(s.Spec.Template.Spec.Containers[0].Image, eventstoreImage+":") {
			sts = s
		}
	}
	if sts == nil {
		t.Fatal("no EventStoreDB StatefulSet")
	}
	replicas := ptrOr(sts.Spec.Replicas, 1)
	if replicas != 3 {
		t.Errorf("StatefulSet %s: %d replicas, want 3", sts.Name, replicas)
	}
	headless, ok := c.services[sts.Spec.ServiceName]
	if !ok || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Fatalf("StatefulSet %s: serviceName %q must be a headless Service publishing not-ready pods (gossip before readiness)", sts.Name, sts.Spec.ServiceName)
	}
	ctr := sts.Spec.Template.Spec.Containers[0]
	env := containerEnv(t, ctr)
	want := map[string]string{
		"EVENTSTORE_CLUSTER_SIZE":                  strconv.Itoa(int(replicas)),
		"EVENTSTORE_DISCOVER_VIA_DNS":              "true",
		"EVENTSTORE_CLUSTER_DNS":                   serviceDNS(headless.Name),
		"EVENTSTORE_CLUSTER_GOSSIP_PORT":           strconv.Itoa(esdbNodePort),
		"EVENTSTORE_NODE_HOST_ADVERTISE_AS":        "{pod}." + serviceDNS(headless.Name),
		"EVENTSTORE_REPLICATION_HOST_ADVERTISE_AS": "{pod}." + serviceDNS(headless.Name),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("StatefulSet %s: %s = %q, want %q", sts.Name, k, env[k], v)
		}
	}
	if !containerHasPort(ctr, intstr.FromInt(esdbNodePort)) {
		t.Errorf("StatefulSet %s: port %d not declared", sts.Name, esdbNodePort)
	}
	mounted := false
	for _, m := range ctr.VolumeMounts {
		for _, pvc := range sts.Spec.VolumeClaimTemplates {
			mounted = mounted || (m.Name == pvc.Name && m.MountPath == "/var/lib/eventstore")
		}
	}
	if !mounted {
		t.Errorf("StatefulSet %s: /var/lib/eventstore is not on a volume claim template", sts.Name)
	}
	// Quorum: a budget must keep a majority up.
	covered := false
	for _, b := range c.budgets {
		sel, _ := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if !sel.Matches(labels.Set(sts.Spec.Template.Labels)) {
			continue
		}
		covered = true
		if b.Spec.MaxUnavailable == nil || b.Spec.MaxUnavailable.IntValue() > int(replicas-1)/2 {
			t.Errorf("PodDisruptionBudget %s: maxUnavailable %v can break the quorum of %d", b.Name, b.Spec.MaxUnavailable, replicas)
		}
	}
	if !covered {
		t.Errorf("StatefulSet %s: no PodDisruptionBudget", sts.Name)
	}

	// Concord's connection string names every node by its stable name.
	cm := c.configMaps["concord-config"]
	if cm == nil {
		t.Fatal("no ConfigMap concord-config")
	}
	hosts, q, err := esdbEndpoints(cm.Data["CONCORD_STORE"])
	if err != nil {
		t.Fatalf("ConfigMap concord-config: CONCORD_STORE: %v", err)
	}
	var wantHosts []string
	for i := range replicas {
		wantHosts = append(wantHosts, fmt.Sprintf("%s-%d.%s:%d", sts.Name, i, serviceDNS(headless.Name), esdbNodePort))
	}
	if !sameSet(hosts, wantHosts) {
		t.Errorf("CONCORD_STORE seeds %v, want every node %v", hosts, wantHosts)
	}
	if insecure := env["EVENTSTORE_INSECURE"] == "true"; insecure != (q.Get("tls") == "false") {
		t.Errorf("CONCORD_STORE tls=%q but EVENTSTORE_INSECURE=%q", q.Get("tls"), env["EVENTSTORE_INSECURE"])
	}
}

// checkNATSCluster checks the NATS StatefulSet: JetStream on a volume, the
// cluster routes naming every pod, and Concord's bus URL reaching the client
// port through a Service.
func checkNATSCluster(t *testing.T, c *cluster) {
	t.Helper()
	sts := c.statefulSets["nats"]
	if sts == nil {
		t.Fatal("no StatefulSet nats")
	}
	spec := sts.Spec.Template.Spec
	ctr := spec.Containers[0]
	var conf string
	for _, m := range ctr.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && c.configMaps[v.ConfigMap.Name] != nil {
				for k, data := range c.configMaps[v.ConfigMap.Name].Data {
					if slices.Contains(ctr.Args, filepath.Join(m.MountPath, k)) {
						conf = data
					}
				}
			}
		}
	}
	if conf == "" {
		t.Fatalf("StatefulSet nats: --config does not name a file of a mounted ConfigMap (args %q)", ctr.Args)
	}
	storeDir := regexp.MustCompile(`(?s)jetstream\s*\{.*?store_dir:\s*(\S+)`).FindStringSubmatch(conf)
	if storeDir == nil {
		t.Fatalf("nats.conf: no jetstream block with a store_dir")
	}
	onClaim := false
	for _, m := range ctr.VolumeMounts {
		for _, pvc := range sts.Spec.VolumeClaimTemplates {
			onClaim = onClaim || (m.Name == pvc.Name && m.MountPath == storeDir[1])
		}
	}
	if !onClaim {
		t.Errorf("nats.conf: JetStream store_dir %s is not on a volume claim template", storeDir[1])
	}
	if !regexp.MustCompile(`(?m)^\s*server_name:\s*\$SERVER_NAME\s*$`).MatchString(conf) || containerEnv(t, ctr)["SERVER_NAME"] != "{pod}" {
		t.Errorf("nats.conf: server_name must be the pod name (JetStream clustering needs unique names)")
	}
	var routes []string
	for _, m := range regexp.MustCompile(`nats://([^\s,\]]+)`).FindAllStringSubmatch(conf, -1) {
		routes = append(routes, m[1])
	}
	headless := c.services[sts.Spec.ServiceName]
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("StatefulSet nats: serviceName %q is not a headless Service", sts.Spec.ServiceName)
	}
	var wantRoutes []string
	for i := range ptrOr(sts.Spec.Replicas, 1) {
		wantRoutes = append(wantRoutes, fmt.Sprintf("%s-%d.%s:6222", sts.Name, i, serviceDNS(headless.Name)))
	}
	if !sameSet(routes, wantRoutes) {
		t.Errorf("nats.conf routes %v, want every pod %v", routes, wantRoutes)
	}
	if !containerHasPort(ctr, intstr.FromInt(6222)) || !containerHasPort(ctr, intstr.FromInt(natsClientPort)) {
		t.Errorf("StatefulSet nats: client or cluster port not declared")
	}

	if name := regexp.MustCompile(`(?s)cluster\s*\{.*?name:\s*(\S+)`).FindStringSubmatch(conf); name == nil || name[1] != "concord" {
		t.Errorf("nats.conf: cluster name %v, want concord", name)
	}
	// Concord keeps every stream and bucket on every server.
	if r := c.configMaps["concord-config"].Data["CONCORD_NATS_REPLICAS"]; r != strconv.Itoa(int(ptrOr(sts.Spec.Replicas, 1))) {
		t.Errorf("CONCORD_NATS_REPLICAS = %q, want the NATS StatefulSet's %d replicas", r, ptrOr(sts.Spec.Replicas, 1))
	}

	// CONCORD_BUS reaches the client port through a Service selecting NATS.
	bus := c.configMaps["concord-config"].Data["CONCORD_BUS"]
	host, port, err := hostPort(strings.TrimPrefix(bus, "nats://"))
	svcName, ok := strings.CutSuffix(host, "."+namespace+"."+clusterLocal)
	svc := c.services[svcName]
	if err != nil || !ok || svc == nil {
		t.Fatalf("CONCORD_BUS %q does not name a Service of namespace %s", bus, namespace)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels)) {
		t.Errorf("CONCORD_BUS names Service %s, which does not select the NATS pods", svcName)
	}
	reaches := false
	for _, p := range svc.Spec.Ports {
		if int(p.Port) == port {
			reaches = slices.ContainsFunc(ctr.Ports, func(cp corev1.ContainerPort) bool {
				return cp.ContainerPort == natsClientPort && (cp.Name == p.TargetPort.StrVal || cp.ContainerPort == p.TargetPort.IntVal)
			})
		}
	}
	if !reaches {
		t.Errorf("CONCORD_BUS %q: Service %s port %d does not lead to NATS's client port %d", bus, svcName, port, natsClientPort)
	}
}

// checkPolicy checks that a NetworkPolicy selects pods, that its named ports
// exist on them, and that each peer selector matches some pods.
func checkPolicy(t *testing.T, c *cluster, p *networkingv1.NetworkPolicy) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	if err != nil {
		t.Fatalf("NetworkPolicy %s: %v", p.Name, err)
	}
	targets := c.selected(sel)
	if len(targets) == 0 {
		t.Errorf("NetworkPolicy %s selects no pods", p.Name)
	}
	for _, rule := range p.Spec.Ingress {
		for _, peer := range rule.From {
			if peer.PodSelector == nil || peer.NamespaceSelector != nil || peer.IPBlock != nil {
				continue
			}
			ps, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
			if err != nil || len(c.selected(ps)) == 0 {
				t.Errorf("NetworkPolicy %s: peer %v matches no pods", p.Name, peer.PodSelector)
			}
		}
		for _, port := range rule.Ports {
			if port.Port == nil {
				continue
			}
			for _, w := range targets {
				if !slices.ContainsFunc(w.pod.Spec.Containers, func(ctr corev1.Container) bool { return containerHasPort(ctr, *port.Port) }) {
					t.Errorf("NetworkPolicy %s: port %s is not a port of %s %s", p.Name, port.Port.String(), w.kind, w.name)
				}
			}
		}
	}
}

// allowed reports whether the NetworkPolicies let pods of workload from open
// a TCP connection to port of pods of workload to (same namespace).
func (c *cluster) allowed(from, to workload, port int32) bool {
	isolated := false
	for _, p := range c.policies {
		sel, _ := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if !sel.Matches(labels.Set(to.pod.Labels)) {
			continue
		}
		if len(p.Spec.PolicyTypes) > 0 && !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			continue
		}
		isolated = true
		for _, rule := range p.Spec.Ingress {
			peerOK := len(rule.From) == 0
			for _, peer := range rule.From {
				if peer.PodSelector != nil && peer.NamespaceSelector == nil {
					ps, _ := metav1.LabelSelectorAsSelector(peer.PodSelector)
					peerOK = peerOK || ps.Matches(labels.Set(from.pod.Labels))
				}
			}
			portOK := len(rule.Ports) == 0
			for _, rp := range rule.Ports {
				if rp.Port == nil {
					portOK = true
					continue
				}
				for _, ctr := range to.pod.Spec.Containers {
					for _, cp := range ctr.Ports {
						if cp.ContainerPort == port && ((rp.Port.Type == intstr.String && rp.Port.StrVal == cp.Name) || (rp.Port.Type == intstr.Int && rp.Port.IntVal == port)) {
							portOK = true
						}
					}
				}
			}
			if peerOK && portOK {
				return true
			}
		}
	}
	return !isolated
}

// checkConnectivity checks that the policies let through the traffic the
// system needs, and stop some that it does not.
func checkConnectivity(t *testing.T, c *cluster) {
	t.Helper()
	find := func(kind, name string) workload {
		for _, w := range c.workloads() {
			if w.kind == kind && w.name == name {
				return w
			}
		}
		t.Fatalf("no %s %s", kind, name)
		return workload{}
	}
	serve, worker := find("Deployment", "concord-serve"), find("Deployment", "concord-worker")
	esdb, nats := find("StatefulSet", "eventstore"), find("StatefulSet", "nats")
	tests := []struct {
		from, to workload
		port     int32
		want     bool
	}{
		{serve, esdb, esdbNodePort, true},
		{worker, esdb, esdbNodePort, true},
		{serve, nats, natsClientPort, true},
		{worker, nats, natsClientPort, true},
		{esdb, esdb, esdbNodePort, true},
		{esdb, esdb, 1112, true},
		{nats, nats, 6222, true},
		{serve, serve, concordPort, true},
		{nats, esdb, esdbNodePort, false},
		{serve, esdb, 1112, false},
		{esdb, nats, natsClientPort, false},
	}
	for _, tt := range tests {
		if got := c.allowed(tt.from, tt.to, tt.port); got != tt.want {
			t.Errorf("allowed(%s → %s:%d) = %v, want %v", tt.from.name, tt.to.name, tt.port, got, tt.want)
		}
	}
}
