# Shortcuts for the scripts in scripts/.
.PHONY: run test build format lint bench

run:
	scripts/run

test:
	scripts/test

build:
	scripts/build build -DCMAKE_BUILD_TYPE=RelWithDebInfo

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

lint:
	scripts/lint

bench:
	bench/run_http.sh
