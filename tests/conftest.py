"""Test configuration: 8 virtual CPU devices (sharding tests), XLA:CPU code generation at
optimization level 0, a compilation cache shared by the test workers, and seeded
hypothesis."""

import atexit
import os
import shutil
import tempfile

# Must happen before jax initializes its backends.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
# Most of the suite's time is compiling small programs once. Level 0 makes LLVM skip its
# optimizations of the generated machine code (about a sixth of the suite's time); XLA's
# own passes, which decide fusion, layouts and the order of every floating-point
# operation, run as at the default level, so the tests check the same XLA programs
# users get. JAXLOSS_TEST_FULL_OPT=1 compiles at XLA's default level instead.
if (
    not os.environ.get("JAXLOSS_TEST_FULL_OPT")
    and "optimization_level" not in os.environ["XLA_FLAGS"]
):
    os.environ["XLA_FLAGS"] += " --xla_backend_optimization_level=0"
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
