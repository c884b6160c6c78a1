"""scripts/install-deps against a fake dpkg and apt-get.

CI's fresh machine once came up with dpkg interrupted (man-db unpacked,
not configured): install-deps took man-db for missing and apt-get refused
to run at all. These tests give the script fake dpkg, dpkg-query and
apt-get that behave as Debian's do in those states, and check what it
runs, in which order, and how it ends. Nothing on the machine is touched:
the script runs from a copy in a scratch folder (no npm folders there) with
the fakes first on PATH and DPKG_ADMINDIR pointing at a scratch database.
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fake"))

from fake_testlib import check, eq, run  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
INTERRUPTED = "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem."

# The fakes share one state folder ($FAKE): status/<pkg> holds a package's
# status when it is not "install ok installed" (unpacked, half-configured:
# dpkg --audit names it; not-installed: it does not), admin/updates/ is dpkg's
# journal, and every call is appended to calls.log.
FAKES = {
    "dpkg-query": r"""#!/usr/bin/env bash
echo "dpkg-query $*" >>"$FAKE/calls.log"
pkg=${@: -1}
if [ -f "$FAKE/status/$pkg" ]; then cat "$FAKE/status/$pkg"; else printf 'install ok installed'; fi
""",
    "dpkg": r"""#!/usr/bin/env bash
echo "dpkg $*" >>"$FAKE/calls.log"
half=$(grep -lE 'unpacked|half-|triggers-' "$FAKE"/status/* 2>/dev/null)
case "$*" in
  --audit)
    [ -z "$half" ] || { echo "The following packages are only half configured:"; for f in $half; do echo " $(basename "$f")"; done; }
    exit 0 ;;
  "--configure -a")
    if [ -s "$FAKE/lock_failures" ]; then
      n=$(cat "$FAKE/lock_failures"); echo $((n - 1)) >"$FAKE/lock_failures"
      [ "$n" -gt 1 ] || rm -f "$FAKE/lock_failures"
      echo "dpkg: error: dpkg frontend lock was locked by another process with pid 4242" >&2; exit 2
    fi
    if [ -f "$FAKE/configure_error" ]; then cat "$FAKE/configure_error" >&2; exit 1; fi
    rm -f "$DPKG_ADMINDIR"/updates/*
    for f in $half; do printf 'install ok installed\n' >"$f"; done
    exit 0 ;;
esac
echo "fake dpkg: unexpected arguments: $*" >&2; exit 99
""",
    "apt-get": r"""#!/usr/bin/env bash
echo "apt-get $*" >>"$FAKE/calls.log"
if [ -n "$(ls -A "$DPKG_ADMINDIR/updates")" ] || [ -n "$(grep -lE 'unpacked|half-|triggers-' "$FAKE"/status/* 2>/dev/null)" ]; then
  if [[ " $* " == *" install "* ]]; then echo "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem." >&2; exit 100; fi
fi
[[ " $* " == *" install "* ]] || exit 0
if [ -f "$FAKE/install_cut_short" ]; then   # the installer stopped half-way
  rm "$FAKE/install_cut_short"; : >"$DPKG_ADMINDIR/updates/0001"; exit 100
fi
for a in "$@"; do case $a in -*|install|DPkg::*|Dpkg::*) ;; *) printf 'install ok installed\n' >"$FAKE/status/$a" ;; esac; done
""",
    "sudo": "#!/usr/bin/env bash\nexec \"$@\"\n",
    "node": "#!/bin/sh\nexit 0\n",
    "npm": "#!/bin/sh\nexit 0\n",
}


class Machine:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="a0snap-deps.")
        self.fake = os.path.join(self.dir, "fake")
        self.admin = os.path.join(self.dir, "admin")
        for d in ("repo/scripts", "bin", "fake/status", "admin/updates"):
            os.makedirs(os.path.join(self.dir, d))
        shutil.copy(os.path.join(ROOT, "scripts", "install-deps"),
                    os.path.join(self.dir, "repo", "scripts", "install-deps"))
        for name, text in FAKES.items():
            path = os.path.join(self.dir, "bin", name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)

    def set(self, name, text):
        with open(os.path.join(self.fake, name), "w") as f:
            f.write(text)

    def status(self, pkg, text):
        self.set(os.path.join("status", pkg), text + "\n")

    def journal(self):
        with open(os.path.join(self.admin, "updates", "0000"), "w") as f:
            f.write("Package: man-db\n")

    def run(self):
        env = dict(os.environ, PATH=os.path.join(self.dir, "bin") + ":" + os.environ["PATH"],
                   FAKE=self.fake, DPKG_ADMINDIR=self.admin, A0SNAP_DEPS_PAUSE="0")
        p = subprocess.run(["bash", os.path.join(self.dir, "repo", "scripts", "install-deps")],
                           env=env, capture_output=True, text=True, timeout=60)
        try:
            with open(os.path.join(self.fake, "calls.log")) as f:
                calls = [line.rstrip("\n") for line in f]
        except FileNotFoundError:
            calls = []
        # dpkg-query and --audit are looks, not acts.
        acts = [c for c in calls if not c.startswith("dpkg-query") and c != "dpkg --audit"]
        shutil.rmtree(self.dir)
        return p, acts


def kinds(acts):
    """apt-get calls reduced to their verb, dpkg calls kept whole."""
    out = []
    for a in acts:
        if a.startswith("apt-get"):
            out.append("apt-get " + ("install" if " install " in a + " " else "update"))
        else:
            out.append(a)
    return out


def test_nothing_to_do_touches_nothing():
    p, acts = Machine().run()
    eq(p.returncode, 0, "exit code; stderr: " + p.stderr)
    eq(acts, [], "what it ran")


def test_a_missing_package_is_installed_alone():
    m = Machine()
    m.status("age", "unknown ok not-installed")
    p, acts = m.run()
    eq(p.returncode, 0, "exit code; stderr: " + p.stderr)
    eq(kinds(acts), ["apt-get update", "apt-get install"], "what it ran")
    check(acts[1].endswith(" age"), "installs only age: " + acts[1])
    check("DPkg::Lock::Timeout=" in acts[1], "waits for apt's lock: " + acts[1])


def test_interrupted_dpkg_is_finished_before_anything_else():
    # CI's machine: man-db unpacked but not configured, journal left behind.
    m = Machine()
    m.status("man-db", "install ok unpacked")
    m.journal()
    p, acts = m.run()
    eq(p.returncode, 0, "exit code; stderr: " + p.stderr)
    eq(acts, ["dpkg --configure -a"], "what it ran (man-db is whole again: nothing to install)")
    check("dpkg was interrupted" in p.stderr, "says why: " + p.stderr)


def test_interrupted_dpkg_then_a_missing_package():
    m = Machine()
    m.status("man-db", "install ok half-configured")
    m.status("jq", "unknown ok not-installed")
    p, acts = m.run()
    eq(p.returncode, 0, "exit code; stderr: " + p.stderr)
    eq(kinds(acts), ["dpkg --configure -a", "apt-get update", "apt-get install"], "what it ran")
    check(acts[2].endswith(" jq"), "installs only jq: " + acts[2])
    check(INTERRUPTED not in p.stderr, "apt-get never refused: " + p.stderr)


def test_another_dpkg_holding_the_lock_is_waited_for():
    m = Machine()
    m.journal()
    m.set("lock_failures", "3")
    p, acts = m.run()
    eq(p.returncode, 0, "exit code; stderr: " + p.stderr)
    eq(acts, ["dpkg --configure -a"] * 4, "three tries refused by the lock, the fourth done")


def test_a_configure_failure_that_is_not_the_lock_ends_at_once():
    m = Machine()
    m.status("man-db", "install ok half-configured")
    m.set("configure_error", "dpkg: error processing package man-db (--configure):\n"
          " installed man-db package post-installation script subprocess returned error exit status 1\n")
    p, acts = m.run()
    check(p.returncode != 0, "fails")
    eq(acts, ["dpkg --configure -a"], "one try, no apt-get")
    check("post-installation script" in p.stderr, "shows dpkg's own message: " + p.stderr)
    check("dpkg --configure -a failed" in p.stderr, "says what failed: " + p.stderr)


def test_an_install_cut_short_is_finished_and_tried_again():
    m = Machine()
    m.status("age", "unknown ok not-installed")
    m.set("install_cut_short", "")
    p, acts = m.run()
    eq(p.returncode, 0, "exit code; stderr: " + p.stderr)
    eq(kinds(acts), ["apt-get update", "apt-get install", "dpkg --configure -a",
                     "apt-get update", "apt-get install"], "what it ran")


def test_an_install_that_keeps_failing_fails():
    m = Machine()
    m.status("age", "unknown ok not-installed")
    m.set("configure_error", "")
    m.journal()
    # dpkg cannot be finished: configure fails for a reason other than the lock.
    p, acts = m.run()
    check(p.returncode != 0, "fails")
    check(not any(a.startswith("apt-get") for a in acts), "never reaches apt-get: %r" % acts)


if __name__ == "__main__":
    run(globals())
