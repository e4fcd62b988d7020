// Command goclient runs the containerd 1.6 Go client's standard flow (api-compat.md §6) against a daemon:
// NewContainer with WithNewSnapshot and WithNewSpec(WithImageConfig), NewTask with cio.WithStdio, Wait,
// Start, the exit, task Delete and container Delete with WithSnapshotCleanup. The container's output goes
// to this program's stdout/stderr; its exit status becomes this program's exit status. A failing step is
// reported on stderr as "goclient: <step>: <error>" and exits 100.
//
// Built in GOPATH mode against Debian's containerd source:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode:<tmp> go build -o goclient .
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
)

func fail(step string, err error) {
	fmt.Fprintf(os.Stderr, "goclient: %s: %v\n", step, err)
	os.Exit(100)
}

func main() {
	address := flag.String("address", "/run/containerts/containerts.sock", "daemon socket")
	ns := flag.String("namespace", "default", "namespace")
	ref := flag.String("image", "docker.io/library/busybox:latest", "image reference (already in the daemon)")
	id := flag.String("id", "goclient", "container id (also the snapshot key)")
	runtime := flag.String("runtime", "", "runtime name (default: the client's, io.containerd.runc.v2)")
	flag.Parse()
	args := flag.Args()

	client, err := containerd.New(*address)
	if err != nil {
		fail("connect", err)
	}
	defer client.Close()
	ctx := namespaces.WithNamespace(context.Background(), *ns)

	image, err := client.GetImage(ctx, *ref)
	if err != nil {
		fail("get image", err)
	}
	specOpts := []oci.SpecOpts{oci.WithImageConfig(image)}
	if len(args) > 0 {
		specOpts = append(specOpts, oci.WithProcessArgs(args...))
	}
	copts := []containerd.NewContainerOpts{
		containerd.WithNewSnapshot(*id, image),
		containerd.WithNewSpec(specOpts...),
	}
	if *runtime != "" {
		copts = append(copts, containerd.WithRuntime(*runtime, nil))
	}
	container, err := client.NewContainer(ctx, *id, copts...)
	if err != nil {
		fail("new container", err)
	}

	task, err := container.NewTask(ctx, cio.NewCreator(cio.WithStdio))
	if err != nil {
		_ = container.Delete(ctx, containerd.WithSnapshotCleanup)
		fail("new task", err)
	}
	exitCh, err := task.Wait(ctx)
	if err != nil {
		fail("wait", err)
	}
	if err := task.Start(ctx); err != nil {
		fail("start", err)
	}
	st := <-exitCh
	code, _, err := st.Result()
	if err != nil {
		fail("exit status", err)
	}
	exit, err := task.Delete(ctx)
	if err != nil {
		fail("task delete", err)
	}
	if exit.ExitCode() != code {
		fail("task delete", fmt.Errorf("delete reports exit %d, wait reported %d", exit.ExitCode(), code))
	}
	if err := container.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		fail("container delete", err)
	}
	fmt.Fprintf(os.Stderr, "goclient done, %s exited %d (%s)\n", *id, code, strings.Join(args, " "))
	os.Exit(int(code))
}
