#!/usr/bin/env python3
"""Replays the fuzzing corpus and every crash ever found (make check).

CMake links each harness tests/fuzz/fuzz_<name>.c with tests/fuzz/replay.c
(a main() that stands in for libFuzzer) and the a0snap_common library into
fuzz_<name>-replay, in every build; this runs each over
tests/fuzz/corpus/<name>/ and tests/fuzz/crashes/<name>/. A run fails on a
non-zero exit or on any sanitizer or harness report in its output. In the
sanitizer build (A0SNAP_SANITIZED=1) a first test proves the detection
works: the canary harness (canary.c) with a heap overflow and a signed
overflow must be caught.

A crash file stays in crashes/ after its bug is fixed, so the bug cannot
come back unnoticed. CTest sets $A0SNAP_REPLAY_DIR (where the replays were
built) and $A0SNAP_SRC_DIR. Stdlib only. The last line is
"N passed, N failed"; the exit status is non-zero on failure.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

SRC = os.environ.get("A0SNAP_SRC_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
FUZZ = os.path.join(SRC, "tests", "fuzz")
BIN = os.environ.get("A0SNAP_REPLAY_DIR") or os.path.join(SRC, "build", "tests")
SANITIZED = os.environ.get("A0SNAP_SANITIZED", "0").upper() in ("1", "ON", "TRUE", "YES")
RUN_TIMEOUT = 600

# What a sanitizer or a harness prints when it finds something.
REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                    r"fuzz invariant broken|SUMMARY: (Address|Undefined|Leak)")

TMP = tempfile.mkdtemp(prefix="a0snap-fuzz-replay-")
_tests = []


def test(fn):
    _tests.append(fn)
    return fn


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run_env():
    env = {k: v for k, v in os.environ.items() if k != "A0SNAP_FUZZ_TRACE"}
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=86"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    # Harness scratch folders go under TMP: a crashing input leaves its own.
    env["A0SNAP_FUZZ_TMPDIR"] = TMP
    return env


def replay_exe(name):
    exe = os.path.join(BIN, "fuzz_%s-replay" % name)
    check(os.access(exe, os.X_OK), "'%s' was not built (tests/CMakeLists.txt builds it)" % exe)
    return exe


def replay(exe, paths):
    return subprocess.run([exe] + paths, capture_output=True, text=True, errors="replace",
                          env=run_env(), timeout=RUN_TIMEOUT, cwd=TMP)


def inputs_in(folder):
    if not os.path.isdir(folder):
        return []
    return [f for f in os.listdir(folder)
            if not f.startswith(".") and os.path.isfile(os.path.join(folder, f))]


def test_detection_works():
    """A replay that cannot fail would prove nothing: the canary's heap
    overflow and signed overflow must both be reported."""
    exe = replay_exe("canary")
    cases = {"fine": False, "heap": True, "ovfl": True}
    for name, bad in cases.items():
        path = os.path.join(TMP, "canary-" + name)
        with open(path, "w") as f:
            f.write(name)
        p = replay(exe, [path])
        found = p.returncode != 0 or REPORT.search(p.stderr) is not None
        check(found == bad, "canary input '%s': exit %d, expected %s\n%s"
              % (name, p.returncode, "a report" if bad else "none", p.stderr[-2000:]))
    p = replay(exe, [os.path.join(TMP, "no-such-input")])
    check(p.returncode != 0, "a missing input must fail the replay")


if SANITIZED:
    test(test_detection_works)


def harness_test(name):
    def fn():
        corpus = os.path.join(FUZZ, "corpus", name)
        crashes = os.path.join(FUZZ, "crashes", name)
        seeds, found = inputs_in(corpus), sorted(inputs_in(crashes))
        check(len(seeds) >= 3, "tests/fuzz/corpus/%s/ holds %d inputs; a seed corpus is "
              "committed with every harness" % (name, len(seeds)))
        exe = replay_exe(name)
        # The corpus in one run; each crash file alone, so every bug that is
        # back (or not fixed yet) is named, not only the first.
        runs = [(["-v", corpus], len(seeds))] + [([os.path.join(crashes, f)], 1) for f in found]
        problems = []
        for args, count in runs:
            p = replay(exe, args)
            report = REPORT.search(p.stderr)
            m = re.search(r"replayed (\d+) inputs", p.stdout)
            if p.returncode != 0 or report:
                # -v names each input before it runs: the last one named is the culprit.
                named = [line[len("replay: "):] for line in p.stderr.splitlines()
                         if line.startswith("replay: ")]
                lines = p.stderr.splitlines()
                first = next((line for line in lines if REPORT.search(line)),
                             "exit %d" % p.returncode)
                # The first stack frame (sanitizers) or the harness's own note.
                frame = next((line for line in lines if line.strip().startswith("#0 ")
                              or line.startswith("fuzz_")), "")
                problems.append("%s: %s%s" % (named[-1] if named else args[-1], first.strip(),
                                              "\n      " + frame.strip() if frame else ""))
            elif not m or int(m.group(1)) != count:
                problems.append("%s: replayed %s of %d inputs"
                                % (args[-1], m.group(1) if m else "none", count))
        if problems:
            raise Failure("fuzz_%s: %d of %d runs failed:\n  %s"
                          % (name, len(problems), len(runs), "\n  ".join(problems)))
    fn.__name__ = "test_replay_fuzz_" + name
    return fn


for _src in sorted(glob.glob(os.path.join(FUZZ, "fuzz_*.c"))):
    test(harness_test(os.path.basename(_src)[len("fuzz_"):-2]))


def main():
    passed = failed = 0
    try:
        for t in _tests:
            try:
                t()
                passed += 1
                print("ok   %s" % t.__name__)
            except Exception:
                failed += 1
                print("FAIL %s" % t.__name__)
                traceback.print_exc()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
