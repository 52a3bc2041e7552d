# lbgate Makefile. `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

# Versions of the tools and control-plane binaries built from Go modules.
K8S_VERSION ?= 1.37.2
ETCD_VERSION ?= 3.6.16
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0

LOCALBIN ?= $(CURDIR)/bin
# Control-plane binaries live in a per-user cache keyed by version, so a fresh
# clone on the same machine reuses them; bin/k8s/<version> links there.
ASSETS_CACHE ?= $(HOME)/.cache/lbgate/k8s-v$(K8S_VERSION)-etcd-v$(ETCD_VERSION)
K8S_ASSETS := $(LOCALBIN)/k8s/$(K8S_VERSION)
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)

GO ?= go
GOTEST_FLAGS ?= -p 2 -count=1
export KUBEBUILDER_ASSETS := $(K8S_ASSETS)

# The operator's image: `make image` builds it, and the install
# (config/manager/kustomization.yaml) runs this name; after choosing another
# IMG, `make set-image IMG=...` makes the install run it.
IMG ?= lbgate:dev
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD and RBAC manifests from markers.
	$(CONTROLLER_GEN) rbac:roleName=lbgate-manager crd paths="./api/...;./controllers/...;./webhook/...;./cmd/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code from markers.
	$(CONTROLLER_GEN) object paths="./api/..."

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint (.golangci.yml) on all the code, the e2e suite included.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: manifests generate ## Fail when generated files are stale or code is not gofmt-clean.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@git diff --exit-code -- api config || { echo "generated files are stale: run 'make manifests generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- api config)" || { echo "untracked generated files:"; git status --porcelain -- api config; exit 1; }

##@ Test

.PHONY: test
test: control-plane-all haproxy-check ## Unit and envtest suites on a real etcd + kube-apiserver, then the e2e suite.
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	$(GO) test $(GOTEST_FLAGS) ./... 2>&1 | tee $(LOCALBIN)/test.log
	$(GO) test -tags e2e -count=1 -timeout 40m ./e2e/ 2>&1 | tee -a $(LOCALBIN)/test.log

.PHONY: bench
bench: control-plane-all haproxy-check build ## Measure lbgate against its targets (cmd/lbgate-bench, docs/performance.md): one table, JSON in bench/results/ (about 3 minutes on 2 cores).
	$(GO) run ./cmd/lbgate-bench --operator $(LOCALBIN)/lbgate -v $(BENCH_ARGS)

.PHONY: bench-large
bench-large: control-plane build ## The bench's 20,000-pod scale stretch (1,000 Services × 20 pods).
	$(GO) run ./cmd/lbgate-bench --operator $(LOCALBIN)/lbgate --large -v $(BENCH_ARGS)

.PHONY: bench-micro
bench-micro: control-plane ## Run the Go micro-benchmarks and print their numbers (BENCH_PKGS=./controllers/webhookcfg for one package).
	$(GO) test -p 1 -run '^$$' -bench . -benchmem $(or $(BENCH_PKGS),./...)

.PHONY: fuzz
fuzz: ## Fuzz the annotation parser for a short while.
	$(GO) test ./api/annotations -run '^$$' -fuzz FuzzParse -fuzztime 30s

.PHONY: haproxy-check
haproxy-check: ## Install HAProxy with apt when missing and run as root; else say how.
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy; \
	  else echo "haproxy is missing: sudo apt-get install -y haproxy"; exit 1; fi; }

.PHONY: e2e
e2e: control-plane-all haproxy-check ## Run the end-to-end suite (whole cluster on this machine, rollouts under load).
	$(GO) test -tags e2e -count=1 -timeout 40m -v ./e2e/ 2>&1 | tee $(LOCALBIN)/e2e.log

.PHONY: demo
demo: control-plane-all haproxy-check build ## The local demo: a rolling update under load, with and without lbgate's gates.
	$(GO) run ./cmd/lbgate-demo --operator $(LOCALBIN)/lbgate

##@ Build

.PHONY: build
build: ## Build the operator binary into bin/.
	$(GO) build -o $(LOCALBIN)/lbgate ./cmd/lbgate

.PHONY: run
run: build ## Run the operator against the cluster of $$KUBECONFIG.
	$(LOCALBIN)/lbgate --kubeconfig "$${KUBECONFIG:-$$HOME/.kube/config}"

.PHONY: image
image: ## Build the image IMG offline (no daemon) into bin/image/: docker load -i bin/image/lbgate.tar.
	$(GO) run ./hack/image build --img=$(IMG) --arch=$(IMAGE_ARCH) --out=$(LOCALBIN)/image --revision="$$(git rev-parse HEAD 2>/dev/null || true)"

.PHONY: set-image
set-image: ## Make the install (config/manager/kustomization.yaml) run IMG.
	$(GO) run ./hack/image set-image --img=$(IMG)

##@ Control plane for tests (built from Go modules, never downloaded)

# The binaries are targets in the cache itself (make would otherwise look
# for them through bin/k8s/<version> before that link exists, and rebuild).
.PHONY: control-plane
control-plane: $(ASSETS_CACHE)/etcd $(ASSETS_CACHE)/kube-apiserver | $(K8S_ASSETS) ## Build etcd and kube-apiserver (envtest).

.PHONY: control-plane-all
control-plane-all: control-plane $(ASSETS_CACHE)/kube-controller-manager $(ASSETS_CACHE)/kube-scheduler ## Also build kube-controller-manager and kube-scheduler (e2e).

$(K8S_ASSETS):
	@mkdir -p $(ASSETS_CACHE) $(LOCALBIN)/k8s
	@ln -sfn $(ASSETS_CACHE) $(K8S_ASSETS)

$(ASSETS_CACHE)/etcd:
	@echo "building etcd v$(ETCD_VERSION) from its Go module (once)"
	@mkdir -p $(ASSETS_CACHE)
	cd hack/tools/etcd && CGO_ENABLED=0 $(GO) build -o $(ASSETS_CACHE)/etcd go.etcd.io/etcd/server/v3

$(ASSETS_CACHE)/kube-%:
	@echo "building kube-$* v$(K8S_VERSION) from k8s.io/kubernetes (once, several minutes)"
	@mkdir -p $(ASSETS_CACHE)
	cd hack/tools/k8s && CGO_ENABLED=0 $(GO) build -o $(ASSETS_CACHE)/kube-$* k8s.io/kubernetes/cmd/kube-$*

$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $(CONTROLLER_GEN)

$(GOLANGCI_LINT):
	@echo "building golangci-lint $(GOLANGCI_LINT_VERSION) from its Go module (once, about 2 minutes)"
	@mkdir -p $(LOCALBIN)/tools
	GOBIN=$(LOCALBIN)/tools $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/tools/golangci-lint $(GOLANGCI_LINT)
