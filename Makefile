# SnapOrchestrator — one command each for the demo, the tests, installing, packaging, measuring.
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n 's/.*current = "\(.*\)".*/\1/p' Sources/SnapSystem/Model/Version.swift)

.PHONY: demo test build release install uninstall package bench mutants clean

demo:           ## build, then one real cycle on a loop-mounted demo filesystem (root), or validate + dry-run + rehearsal
	scripts/demo

test:           ## the whole test suite (what CI runs)
	scripts/test

build:
	swift build

release:        ## the shipped binary: Swift runtime and Foundation linked statically (libc, libstdc++, libyaml dynamic; libcurl loaded on first use)
	swift build -c release --product snaporch --static-swift-stdlib

install: release  ## binary to $(PREFIX)/bin, /etc/azure/prepost without overwriting an admin's files
	install -D -m 0755 -o root -g root .build/release/snaporch $(DESTDIR)$(PREFIX)/bin/snaporch
	install -d -m 0755 -o root -g root $(DESTDIR)/etc/azure/prepost/scripts.d
	cd etc/azure/prepost && for f in $$(find . -type f); do \
	    if [ -e "$(DESTDIR)/etc/azure/prepost/$$f" ]; then echo "kept $(DESTDIR)/etc/azure/prepost/$$f (admin's copy)"; \
	    else mode=0644; [ -x "$$f" ] && mode=0755; install -D -m $$mode -o root -g root "$$f" "$(DESTDIR)/etc/azure/prepost/$$f"; fi; done
	install -D -m 0644 -o root -g root etc/bash_completion.d/snaporch $(DESTDIR)/usr/share/bash-completion/completions/snaporch
	@echo "installed; check with: snaporch validate"

uninstall:      ## removes the binary and completion; keeps /etc/azure/prepost (the admin's config)
	rm -f $(DESTDIR)$(PREFIX)/bin/snaporch $(DESTDIR)/usr/share/bash-completion/completions/snaporch
	@echo "kept /etc/azure/prepost (remove it by hand if it is no longer wanted)"

package:        ## the Azure handler zip and a .deb, in .build/package/
	scripts/package

bench:          ## the benchmark table (release build), also as JSON in .build/bench.json
	python3 Benchmarks/bench.py

mutants:        ## the mutation check: each bug of Tests/Mutants/mutants.txt must fail a test (root, ~1 h)
	scripts/mutants

clean:
	rm -rf .build
