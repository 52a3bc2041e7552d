package main

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
)

// elfMachines maps the GOARCH values an image may be built for to the
// ELF machine of their binaries.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// CheckBinary says whether path can run alone in an image of arch: a
// Linux ELF executable for that architecture with no dynamic loader (the
// image has no libc to load).
func CheckBinary(path, arch string) error {
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("--arch %q: not one of the architectures an image is built for (amd64, arm64, arm, 386, ppc64le, s390x, riscv64)", arch)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("--binary %s: not an ELF executable: %w", path, err)
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("--binary %s: ELF type %s, want an executable", path, f.Type)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return fmt.Errorf("--binary %s: built for OS ABI %s, want Linux", path, f.OSABI)
	}
	if f.Machine != want {
		return fmt.Errorf("--binary %s: built for %s, want %s (--arch %s)", path, f.Machine, want, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("--binary %s: dynamically linked (it asks for a program interpreter); build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// GoBuild builds the Go package pkg (run from dir, the module's root) into
// out as a static Linux binary for arch: no cgo, no local paths, no symbol
// tables.
func GoBuild(ctx context.Context, dir, pkg, arch, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %w\n%s", pkg, arch, err, msg)
	}
	return nil
}
