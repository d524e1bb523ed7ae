"""The TensorRT plugin library against TensorRT 10.8 and 10.16 headers, without TensorRT or a GPU.

For each header set found (the repo's .trt-include/<v>/include, else ../shared/tensorrt-include,
and an installed TensorRT), libbert_plugins.so and bert_plugin_harness are built once into
build/plugin-harness/<name>/ (kept between runs: later runs only rebuild what changed; sm_90
only, to keep CI fast). Then:
  - the library must export getCreators and setLoggerFinder and leave no TensorRT symbol
    undefined (it is loaded by TensorRT's registry, and by the harness without libnvinfer);
  - the harness must pass every check of every plugin configuration written by
    plugins/harness/make_cases.py, and must have run each kind of check for each of them, so a
    harness that silently checks nothing fails here.
Skips (with the reason) only when there are no headers or no nvcc/cmake.
"""
from __future__ import annotations

import subprocess

import pytest

from plugins import plugin_fields
from plugins.harness import make_cases, run

HEADERS = run.header_dirs()

# Each configuration (fields file) must report all of these, and pass them.
PER_CASE_CHECKS = {
    "field-names", "create", "identity", "capabilities-build", "nb-outputs", "output-types",
    "output-shapes", "format-combinations", "format-combinations-wrong-count", "configurePlugin",
    "onShapeChange", "workspace", "tactics", "serialize-fields", "deserialize", "capabilities-runtime",
    "serialize-roundtrip", "attachToContext", "clone", "bad-fields",
}
LIBRARY_CHECKS = {"exports", "getCreators", "coverage"}
# format-combinations runs once per supported input count: SkipLayerNorm takes 4 or 5 inputs.
EXTRA_INPUT_COUNTS = {"BertSkipLayerNorm": 1}


@pytest.fixture(scope="module", params=sorted(HEADERS) or ["none"])
def built(request):
    if not HEADERS:
        pytest.skip("no TensorRT headers (.trt-include/<v>/include, ../shared/tensorrt-include, system)")
    problem = run.missing_tools()
    if problem:
        pytest.skip(problem)
    build_dir = run.ROOT / "build" / "plugin-harness" / request.param
    return request.param, run.build(HEADERS[request.param], build_dir, cuda_archs="90")


def _symbols(library, *flags):
    done = subprocess.run(["nm", "-D", "-C", *flags, str(library)], capture_output=True, text=True, check=True)
    return done.stdout


def test_library_exports_the_plugin_interface_and_needs_no_tensorrt(built):
    _, build_dir = built
    library = build_dir / "libbert_plugins.so"
    defined = {line.split()[-1] for line in _symbols(library, "--defined-only").splitlines() if " T " in line}
    assert {"getCreators", "setLoggerFinder"} <= defined
    undefined = _symbols(library, "--undefined-only")
    tensorrt = [line for line in undefined.splitlines() if "nvinfer" in line.lower()]
    assert not tensorrt, f"TensorRT symbols left undefined: {tensorrt}"


def test_every_plugin_passes_every_interface_check(built, tmp_path):
    name, build_dir = built
    make_cases.write_field_cases(tmp_path)
    result = run.run_harness(build_dir, tmp_path, timeout=120)

    failures = [r for r in result.results if r[0] == "FAIL"]
    assert not failures, f"[{name}] harness failures:\n" + "\n".join(" ".join(f) for f in failures)
    assert result.returncode == 0, result.output[-3000:]
    assert result.failed == 0 and result.passed == len(result.results), "SUMMARY disagrees with the PASS lines"

    # Every check ran, for every configuration, and every plugin was covered.
    plugin_of_case = {case: spec.name for case, (spec, _) in make_cases.FIELD_CASES.items()}
    for case, plugin in plugin_of_case.items():
        ran = [r[2] for r in result.results if r[3] == case]
        assert set(ran) == PER_CASE_CHECKS, f"{case}: missing {PER_CASE_CHECKS - set(ran)}"
        assert len(ran) == len(PER_CASE_CHECKS) + EXTRA_INPUT_COUNTS.get(plugin, 0), f"{case}: {sorted(ran)}"
    assert {r[2] for r in result.results if r[1] == "library"} == LIBRARY_CHECKS
    assert set(plugin_of_case.values()) == {spec.name for spec in plugin_fields.ALL}
    expected = len(LIBRARY_CHECKS) + sum(len(PER_CASE_CHECKS) + EXTRA_INPUT_COUNTS.get(p, 0)
                                         for p in plugin_of_case.values())
    assert result.passed == expected
