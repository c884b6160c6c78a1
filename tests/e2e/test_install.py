#!/usr/bin/env python3
"""End-to-end test of the installation: `cmake --install` of the build in
$A0SNAP_BIN_DIR into a temporary prefix must put there the three programs
and the four man pages, and nothing else; what it puts there must work.

  - bin/a0snap-export, bin/a0snap-import and bin/a0snap-snapshots run, and
    their --version names the project's version (read from the build's
    CMakeCache.txt);
  - share/man/man1/a0snap-export.1, a0snap-import.1, a0snap-snapshots.1 and
    share/man/man5/a0snap-snapshot.5 (each plain or gzipped with `gzip -n`)
    carry that version in .TH and render without a warning through
    `man -l` (else `groff -t -man -Tutf8`, if either is installed), with
    the sections a man page of its kind needs;
  - the installed pages are man/*.[15] of $A0SNAP_SRC_DIR with the version
    filled in;
  - the pages and the programs agree: every long option, environment
    variable and exit code that --help lists is in the page, and every
    option the page documents is one the program knows.

Needs cmake/packaging.cmake included by the top-level CMakeLists.txt (the
man pages' install rules are there). Stdlib only. The last line is
"N passed, N failed"; the exit status is non-zero on failure.
"""
import atexit
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

BIN_DIR = os.environ.get("A0SNAP_BIN_DIR")
SRC_DIR = os.environ.get("A0SNAP_SRC_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
if not BIN_DIR:
    sys.exit("test_install.py: set A0SNAP_BIN_DIR to the build folder")

PROGRAMS = ["a0snap-export", "a0snap-import", "a0snap-snapshots"]
PAGES = [("a0snap-export", 1), ("a0snap-import", 1), ("a0snap-snapshots", 1),
         ("a0snap-snapshot", 5)]
# Options that work and are documented in the man page but that --help
# leaves out (getopt_long also accepts abbreviations, so running a program
# cannot tell a typo from a real option: this list can).
HIDDEN = {}
SECTIONS = {
    1: ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "EXIT STATUS", "FILES",
        "SECURITY", "EXAMPLES", "SEE ALSO"],
    5: ["NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "DIAGNOSTICS", "SECURITY", "SEE ALSO"],
}


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def read_cache():
    """The build's CMakeCache.txt as a dict (NAME -> value)."""
    values = {}
    with open(os.path.join(BIN_DIR, "CMakeCache.txt"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"([A-Za-z0-9_.+-]+):[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                values[m.group(1)] = m.group(2)
    return values


CACHE = read_cache()
VERSION = CACHE.get("CMAKE_PROJECT_VERSION", "")
# GNUInstallDirs caches MANDIR empty unless it was set: then it is DATAROOTDIR/man.
MANDIR = CACHE.get("CMAKE_INSTALL_MANDIR") or (CACHE.get("CMAKE_INSTALL_DATAROOTDIR") or
                                               "share") + "/man"
CMAKE = CACHE.get("CMAKE_COMMAND", "cmake")

# A clean environment: no credentials of the developer's can reach a program
# run here, and no DESTDIR can divert the installation.
ENV = {k: v for k, v in os.environ.items()
       if not k.startswith(("AUTH0_", "A0SNAP_")) and k not in ("DESTDIR", "MANPAGER", "PAGER")}
ENV.update(LC_ALL="C.UTF-8", MANWIDTH="80")

_prefix = []


def prefix():
    """Installs once into a temp prefix (removed at exit) and returns it."""
    if not _prefix:
        d = tempfile.mkdtemp(prefix="a0snap-install-")
        atexit.register(shutil.rmtree, d, True)
        r = subprocess.run([CMAKE, "--install", BIN_DIR, "--prefix", d], env=ENV,
                           capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, "cmake --install failed (%d): %s%s" % (r.returncode, r.stdout,
                                                                        r.stderr))
        _prefix.append(d)
    return _prefix[0]


def run(argv, cwd=None):
    return subprocess.run(argv, env=ENV, cwd=cwd, capture_output=True, text=True, timeout=120)


def page_path(name, section):
    """The installed page, plain or gzipped; fails unless exactly one exists."""
    base = os.path.join(prefix(), MANDIR, "man%d" % section, "%s.%d" % (name, section))
    found = [p for p in (base, base + ".gz") if os.path.isfile(p)]
    check(len(found) == 1, "expected one of %s(.gz), found %r (does the top-level CMakeLists.txt "
          "include cmake/packaging.cmake?)" % (base, found))
    return found[0]


def page_source(name, section):
    path = page_path(name, section)
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")


def plain(roff):
    """Roff source as text good enough to search: font changes and
    zero-width escapes dropped, escaped minus signs and quotes resolved."""
    s = re.sub(r"\\f[BIRP]", "", roff)
    s = s.replace("\\&", "").replace("\\-", "-").replace("\\(aq", "'").replace("\\(dq", '"')
    return s


def source_section(roff, title):
    """The roff lines of section .SH title, up to the next .SH."""
    out, inside = [], False
    for line in roff.splitlines():
        if line.startswith(".SH"):
            inside = line[3:].strip().strip('"') == title
            continue
        if inside:
            out.append(line)
    return out


def render(path):
    """(text, stderr, tool) of the page rendered for an 80-column terminal,
    or None when neither man nor groff is installed."""
    if shutil.which("man"):
        r = run(["man", "--warnings", "-l", path])
        return r.stdout, r.stderr + ("" if r.returncode == 0 else "exit %d" % r.returncode), "man"
    if shutil.which("groff"):
        with open(path, "rb") as f:
            data = f.read()
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        r = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-wmac", "-P-cbou", "-rLL=78n"],
                           input=data, env=ENV, capture_output=True, timeout=120)
        return (r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace") +
                ("" if r.returncode == 0 else "exit %d" % r.returncode), "groff")
    return None


def item_options(roff):
    """The long options named by the item tags (.TP/.TQ) of OPTIONS."""
    lines = source_section(roff, "OPTIONS")
    options = set()
    for i, line in enumerate(lines):
        if line in (".TP", ".TQ") and i + 1 < len(lines):
            options |= set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", plain(lines[i + 1])))
    return options


def help_text(prog):
    r = run([os.path.join(prefix(), "bin", prog), "--help"])
    check(r.returncode == 0, "%s --help exited %d" % (prog, r.returncode))
    return r.stdout


def help_exit_codes(text):
    """The numbers of the "Exit codes: 0 ok, 2 usage, ..." paragraph."""
    m = re.search(r"Exit codes:(.*?)(?:\n\n|\Z)", text, re.S)
    check(m, "no 'Exit codes:' paragraph in --help")
    return set(re.findall(r"(?:^|,)\s*(\d+)\s", m.group(1)))


# ---- tests ------------------------------------------------------------------

def test_packaging_is_configured():
    check(os.path.isfile(os.path.join(BIN_DIR, "CPackConfig.cmake")),
          "%s has no CPackConfig.cmake: the top-level CMakeLists.txt must have the line "
          "include(cmake/packaging.cmake)" % BIN_DIR)


def test_installs_only_programs_pages_and_licence():
    root = prefix()
    got = set()
    for d, _, files in os.walk(root):
        for f in files:
            got.add(os.path.relpath(os.path.join(d, f), root))
    want = {os.path.join("bin", p) for p in PROGRAMS}
    want |= {os.path.relpath(page_path(n, s), root) for n, s in PAGES}
    want.add(os.path.join("share", "doc", "a0snap", "copyright"))
    check(got == want, "installed files differ: extra %s, missing %s"
          % (sorted(got - want), sorted(want - got)))


def test_programs_run():
    check(re.fullmatch(r"\d+\.\d+\.\d+", VERSION), "no project version in CMakeCache.txt")
    for prog in PROGRAMS:
        path = os.path.join(prefix(), "bin", prog)
        check(os.access(path, os.X_OK), "%s is not executable" % path)
        check(os.stat(path).st_mode & 0o755 == 0o755, "%s: mode %o" % (path, os.stat(path).st_mode))
        r = run([path, "--version"])
        check(r.returncode == 0, "%s --version exited %d: %s" % (prog, r.returncode, r.stderr))
        first = r.stdout.splitlines()[0] if r.stdout else ""
        check(first == "%s %s" % (prog, VERSION), "%s --version says %r" % (prog, first))
        check("libcurl" in r.stdout and "OpenSSL" in r.stdout, "%s --version: no libraries" % prog)
        check(help_text(prog).startswith("Usage: %s" % prog), "%s --help: no usage line" % prog)


def test_pages_are_versioned_and_reproducible():
    for name, section in PAGES:
        src = page_source(name, section)
        check("@PROJECT_VERSION@" not in src, "%s: the version was not filled in" % name)
        th = [l for l in src.splitlines() if l.startswith(".TH ")]
        check(len(th) == 1, "%s: %d .TH lines" % (name, len(th)))
        want = '.TH %s %d ' % (name.upper().replace("-", "\\-"), section)
        check(th[0].startswith(want), "%s: .TH is %r" % (name, th[0]))
        check('"a0snap %s"' % VERSION in th[0], "%s: .TH lacks 'a0snap %s'" % (name, VERSION))
        with open(os.path.join(SRC_DIR, "man", "%s.%d" % (name, section)), encoding="utf-8") as f:
            check(src == f.read().replace("@PROJECT_VERSION@", VERSION),
                  "%s: the installed page is not man/%s.%d of the sources (a stale build?)"
                  % (name, name, section))
        path = page_path(name, section)
        check(os.stat(path).st_mode & 0o777 == 0o644, "%s: mode %o" % (path, os.stat(path).st_mode))
        if path.endswith(".gz"):
            with open(path, "rb") as f:
                head = f.read(10)
            # gzip -n: no original name (FLG.FNAME) and no time stamp (MTIME 0)
            check(head[:2] == b"\x1f\x8b", "%s: not gzip" % path)
            check(not head[3] & 0x08, "%s: gzip header holds a file name" % path)
            check(head[4:8] == b"\0\0\0\0", "%s: gzip header holds a time stamp" % path)


def test_pages_render_cleanly():
    for name, section in PAGES:
        out = render(page_path(name, section))
        if out is None:
            print("     (neither man nor groff is installed: %s not rendered)" % name)
            continue
        text, err, tool = out
        check(err.strip() == "", "%s: %s warned: %s" % (name, tool, err.strip()))
        headings = [l for l in text.splitlines() if re.fullmatch(r"[A-Z][A-Z ]*[A-Z]", l)]
        for want in SECTIONS[section]:
            check(want in headings, "%s: no %s section (rendered headings: %s)"
                  % (name, want, headings))
        title = "%s(%d)" % (name.upper(), section)
        check(text.lstrip().startswith(title), "%s: rendered page starts %r" % (name, text[:40]))
        check("a0snap %s" % VERSION in text, "%s: rendered footer lacks the version" % name)
        # tbl ran: the snapshot page's tables have their rule line
        if section == 5:
            check("\u2500" * 20 in text or "-" * 20 in text, "%s: tables not rendered" % name)


def test_pages_match_help():
    for prog in PROGRAMS:
        roff = page_source(prog, 1)
        helptext = help_text(prog)
        options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", helptext))
        check(len(options) > 10, "%s --help: only %r" % (prog, sorted(options)))
        items = item_options(roff)
        check(options <= items,
              "%s(1) has no OPTIONS item for %s" % (prog, sorted(options - items)))
        extra = items - options - HIDDEN.get(prog, set())
        check(not extra, "%s(1) documents %s, which --help does not list (a typo? else add them "
              "to HIDDEN here)" % (prog, sorted(extra)))

        env_text = plain("\n".join(source_section(roff, "ENVIRONMENT")))
        variables = sorted(set(re.findall(r"\b(?:AUTH0|A0SNAP)_[A-Z_]+\b", helptext)))
        missing = [v for v in variables if not re.search(r"\b%s\b" % v, env_text)]
        check(variables and not missing, "%s(1) ENVIRONMENT lacks %s" % (prog, missing))

        exit_status = "\n".join(source_section(roff, "EXIT STATUS"))
        page_codes = set(re.findall(r"^\.B (\d+)$", exit_status, re.M))
        help_codes = help_exit_codes(helptext)
        check(page_codes == help_codes, "%s: exit codes in --help %s, in the page %s"
              % (prog, sorted(help_codes), sorted(page_codes)))


def test_documented_options_exist():
    """Every option an OPTIONS item names is one the program accepts: given
    alone it may be refused for a missing value or setting (exit 2), never
    as unknown. The environment holds no credentials, so nothing is sent."""
    workdir = tempfile.mkdtemp(prefix="a0snap-install-opts-")
    try:
        for prog in PROGRAMS:
            options = item_options(page_source(prog, 1))
            check(len(options) > 10, "%s(1): only %r in OPTIONS" % (prog, sorted(options)))
            path = os.path.join(prefix(), "bin", prog)
            for opt in sorted(options):
                r = run([path, opt], cwd=workdir)
                check("unknown option" not in r.stderr,
                      "%s(1) documents %s, which %s does not know" % (prog, opt, prog))
                check(r.returncode in (0, 2), "%s %s exited %d: %s"
                      % (prog, opt, r.returncode, r.stderr.strip()))
            check(os.listdir(workdir) == [], "%s wrote %r" % (prog, os.listdir(workdir)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


TESTS = [test_packaging_is_configured, test_installs_only_programs_pages_and_licence, test_programs_run,
         test_pages_are_versioned_and_reproducible, test_pages_render_cleanly,
         test_pages_match_help, test_documented_options_exist]


def main():
    passed = failed = 0
    only = sys.argv[1:]
    for fn in TESTS:
        if only and fn.__name__ not in only:
            continue
        try:
            fn()
            passed += 1
            print("ok   %s" % fn.__name__, flush=True)
        except Exception:  # a failed check or a crash: both fail the test
            failed += 1
            print("FAIL %s" % fn.__name__, flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
