package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// memorySize is the memory scenario's cluster.
type memorySize struct {
	Pods, Services, PodsPer, Namespaces int
}

// memoryTarget is the target for the operator's RSS.
const memoryTarget = 150 << 20

// runMemory fills an envtest cluster with pods, few of them behind
// opted-in Services, then starts the operator and measures its memory
// once every gate is True.
func (b *bench) runMemory(ctx context.Context, size memorySize) *Scenario {
	opted := size.Services * size.PodsPer
	sc := newScenario("memory", fmt.Sprintf("envtest; %d running pods in %d namespaces, %d of them behind %d opted-in Services; lbgate started on the full cluster, fake LB",
		size.Pods, size.Namespaces, opted, size.Services))
	if err := b.memory(ctx, size, sc); err != nil {
		sc.Err = err.Error()
	}
	return sc
}

func (b *bench) memory(ctx context.Context, size memorySize, sc *Scenario) error {
	opted := size.Services * size.PodsPer
	dir := b.workDir("memory")
	env, err := startEnvCluster(b.module, dir)
	if err != nil {
		return err
	}
	defer env.Stop()
	b.versionFromEnv()
	f := &fleet{c: env.Client}
	for i := 0; i < size.Namespaces; i++ {
		if err := f.namespace(ctx, fmt.Sprintf("mem-%d", i)); err != nil {
			return err
		}
	}
	for i := 0; i < size.Services; i++ {
		if err := f.service(ctx, fmt.Sprintf("mem-%d", i%size.Namespaces), fmt.Sprintf("gated-%d", i)); err != nil {
			return err
		}
	}
	began := time.Now()
	err = parallel(ctx, size.Pods, 16, func(ctx context.Context, i int) error {
		var pod *corev1.Pod
		if i < opted {
			s := i / size.PodsPer
			app := fmt.Sprintf("gated-%d", s)
			pod = podSpec(fmt.Sprintf("mem-%d", s%size.Namespaces), fmt.Sprintf("%s-%d", app, i%size.PodsPer), app, app)
		} else {
			app := fmt.Sprintf("other-%d", i%200)
			pod = podSpec(fmt.Sprintf("mem-%d", i%size.Namespaces), fmt.Sprintf("pod-%d", i), app, "")
		}
		_, err := f.runPod(ctx, pod, true)
		return err
	})
	if err != nil {
		return err
	}
	sc.row("cluster filled (bench's writes)", fmtDur(time.Since(began)), "")

	start := time.Now()
	op, err := startOperator(ctx, b.operator, filepath.Join(dir, "lbgate.log"),
		"--kubeconfig="+env.Kubeconfig, "--provider=fake", "--webhook=false")
	if err != nil {
		return err
	}
	defer stopOperator(op, sc)
	ready := time.Since(start)
	got, err := waitGatesTrue(ctx, env.Client, opted, 3*time.Minute, time.Second)
	if err != nil {
		return err
	}
	allTrue := time.Since(start)
	if err := sleepCtx(ctx, 5*time.Second); err != nil {
		return err
	}
	mem := op.Memory()
	cpu := op.CPU()
	stats, statsErr := op.heapStats()
	profile := filepath.Join(dir, "heap.pprof")
	profErr := op.profileHeap(profile)
	reqs, err := env.Requests()
	if err != nil {
		return err
	}

	sc.row("lbgate ready (caches synced)", fmtDur(ready), "")
	sc.row("gates True", fmt.Sprintf("%d of %d within %s (listed every 1 s)", got, opted, fmtDur(allTrue)), "")
	sc.target("operator RSS, settled", fmt.Sprintf("%.0f MiB", mib(mem.RSS)), "", "< 150 MiB", mem.RSS < memoryTarget)
	sc.target("operator peak RSS (VmHWM)", fmt.Sprintf("%.0f MiB", mib(mem.PeakRSS)), "", "< 150 MiB", mem.PeakRSS < memoryTarget)
	if statsErr == nil {
		sc.row("Go heap in use / heap objects", fmt.Sprintf("%.0f MiB / %d", mib(stats["HeapInuse"]), stats["HeapObjects"]), "")
		sc.row("Go runtime total (Sys)", fmt.Sprintf("%.0f MiB", mib(stats["Sys"])), "")
		sc.Data["heapInuseMiB"] = mib(stats["HeapInuse"])
		sc.Data["heapObjects"] = float64(stats["HeapObjects"])
		sc.Data["sysMiB"] = mib(stats["Sys"])
	}
	sc.row("objects cached (pods trimmed)", fmt.Sprintf("%d pods, %d Services, %d BackendGroups", size.Pods, size.Services, size.Services), "")
	sc.row("operator CPU seconds (start to settled)", fmt.Sprintf("%.1f s", cpu), "")
	sc.row("API requests by verb", reqs.verbString(), "")
	sc.Data["rssMiB"] = mib(mem.RSS)
	sc.Data["peakRSSMiB"] = mib(mem.PeakRSS)
	sc.Data["cpuSeconds"] = cpu
	sc.Data["gatesTrue"] = float64(got)
	if profErr != nil {
		sc.note("heap profile: %v", profErr)
	} else {
		sc.note("heap profile of the settled operator (%s), go tool pprof -top -sample_index=inuse_space:\n%s", profile,
			strings.Join(pprofTop(b.operator, profile, "-sample_index=inuse_space"), "\n"))
	}
	return nil
}
