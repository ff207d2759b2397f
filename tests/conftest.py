"""Test configuration: 8 virtual CPU devices (sharding tests), XLA:CPU code generation at
optimization level 0, a compilation cache shared by the test workers, and seeded
hypothesis."""

import atexit
import os
import shutil
import tempfile

# Must happen before jax initializes its backends.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
# Most of the suite's time is compiling small programs once, so the tests compile for the
# CPU with two settings that make XLA:CPU's code generation cheaper (together they halve
# the suite's compile time). Optimization level 0 makes LLVM skip its optimizations of the
# machine code: XLA's optimized HLO is byte-identical. The legacy fusion emitters
# (--xla_cpu_use_fusion_emitters=false) generate the code of each fusion directly instead
# of through XLA's MLIR emitters: the same fusion decisions and layouts, but reductions
# outside a fusion stay plain reduce ops, and the machine code is another's, so results
# may differ in the last bits. What the tests check (each loss's formula, masks,
# reductions, gradients, transformations, and float32 accuracy against optax compiled
# alike) does not depend on either. .ci/run also runs the accuracy and numerics tests
# with XLA's defaults, and JAXLOSS_TEST_FULL_OPT=1 runs any test that way.
_FAST_COMPILE = " --xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
if (
    not os.environ.get("JAXLOSS_TEST_FULL_OPT")
    and "optimization_level" not in os.environ["XLA_FLAGS"]
):
    os.environ["XLA_FLAGS"] += _FAST_COMPILE
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# One persistent compilation cache per test session, in a fresh temporary directory that
# the pytest-xdist workers inherit: a program that two tests (or two workers) build with
# the same HLO is compiled once. Nothing is kept between sessions, and the compiled code
# is the same as without the cache.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="jaxloss-tests-xla-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)  # the process that made it
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "-1"

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "jaxloss",
    derandomize=True,
    deadline=None,
    max_examples=20,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("jaxloss")
