"""Interoperability of a0snap's age module (common/util/age.h, driven through
tests/tools/age_tool) with the real age 1.1 (Debian's `age` package, which
scripts/install-deps installs): what we encrypt `age -d` opens, what
`age -r` / `age -p` encrypt we open, key files go both ways, and our
refusals hold on files age made.

age reads passphrases only from a terminal, so the passphrase tests give
it one: a pseudo-terminal (pty), answered when it prompts.

Without age installed every test FAILS (it does not skip): an interop
suite that ran nothing must not look green.
"""

import os
import pty
import select
import shutil
import subprocess
import time

from e2elib import BIN, Failure, check, check_eq, main, test

AGE_TOOL = os.path.join(BIN, "tests", "age_tool")
PASSPHRASE = "correct horse battery staple"


def need_age():
    for prog in ("age", "age-keygen"):
        if not shutil.which(prog):
            raise Failure("'%s' is not installed: run scripts/install-deps (Debian package "
                          "'age'); the age interop tests cannot run without it" % prog)
    check(os.access(AGE_TOOL, os.X_OK), "no %s: build the tree first" % AGE_TOOL)


def sh(argv, stdin=b"", env=None, ok=True):
    """Runs argv with bytes on stdin; returns the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(argv, input=stdin, capture_output=True, env=full_env, timeout=300)
    if ok and p.returncode != 0:
        raise Failure("%s exited %d: %s" % (" ".join(argv), p.returncode,
                                            p.stderr.decode(errors="replace")))
    return p


def tool(*args, stdin=b"", env=None, ok=True):
    return sh([AGE_TOOL] + list(args), stdin=stdin, env=env, ok=ok)


def data(n, seed=1):
    """n bytes that look like gzip output (no structure)."""
    out = bytearray()
    x = seed * 2654435761 % (1 << 32) or 1
    while len(out) < n:
        x ^= (x << 13) & 0xffffffff
        x ^= x >> 17
        x ^= (x << 5) & 0xffffffff
        out += x.to_bytes(4, "little")
    return bytes(out[:n])


def write(path, content, mode=0o600):
    with open(path, "wb") as f:
        f.write(content if isinstance(content, bytes) else content.encode())
    os.chmod(path, mode)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def age_keygen(path):
    """An identity file made by age-keygen; its recipient."""
    sh(["age-keygen", "-o", path])
    return sh(["age-keygen", "-y", path]).stdout.decode().strip()


def with_tty(argv, answer, prompts, timeout=120):
    """Runs argv on a pseudo-terminal, typing answer at each of the first
    `prompts` times it asks for a passphrase. Returns (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    seen, answered, out = 0, 0, b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                raise Failure("%s timed out on the terminal: %r" % (" ".join(argv), out))
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                break
            out += chunk
            seen = out.lower().count(b"passphrase")
            while answered < min(seen, prompts):
                os.write(fd, answer.encode() + b"\n")
                answered += 1
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536, 1000003]


@test
def age_decrypts_what_we_encrypt_to_its_keys():
    need_age()
    pub = age_keygen("key.txt")
    for i, n in enumerate(SIZES):
        plain = data(n, seed=n + 1)
        write("plain", plain)
        # age_tool encrypt -r RECIPIENT -s STEP <plain >ct.age
        ct = tool("encrypt", "-r", pub, "-s", str(777 + 1000 * i), stdin=plain).stdout
        write("ct.age", ct)
        # age -d -i key.txt ct.age (to stdout: -o makes no file for an
        # empty plaintext)
        out = sh(["age", "-d", "-i", "key.txt", "ct.age"]).stdout
        check_eq(out, plain, "age -d output for %d bytes" % n)


@test
def age_decrypts_what_we_encrypt_to_several_recipients():
    need_age()
    pubs = [age_keygen("k%d.txt" % i) for i in range(3)]
    write("recipients.txt", "# the team\n%s\n\n%s\n" % (pubs[1], pubs[2]), mode=0o644)
    plain = data(200000, seed=7)
    # age_tool encrypt -r R0 -R recipients.txt <plain >ct.age
    write("ct.age", tool("encrypt", "-r", pubs[0], "-R", "recipients.txt", stdin=plain).stdout)
    for i in range(3):
        # age -d -i kI.txt ct.age
        check_eq(sh(["age", "-d", "-i", "k%d.txt" % i, "ct.age"]).stdout, plain,
                 "age -d with key %d" % i)


@test
def we_decrypt_what_age_encrypts():
    need_age()
    pub = age_keygen("key.txt")  # age-keygen's identity file, read by us
    for n in SIZES:
        plain = data(n, seed=n + 3)
        write("plain", plain)
        # age -r RECIPIENT -o ct.age plain
        sh(["age", "-r", pub, "-o", "ct.age", "plain"])
        for step in ("65536", "1", "4093"):
            if step == "1" and n > 200000:
                continue
            # age_tool decrypt -i key.txt -s STEP <ct.age
            out = tool("decrypt", "-i", "key.txt", "-s", step, stdin=read("ct.age")).stdout
            check_eq(out, plain, "our decryption of age's %d bytes, fed %s at a time" % (n, step))


@test
def key_files_go_both_ways():
    need_age()
    # Our identity file: age reads it, and derives the same recipient.
    write("ours.txt", tool("keygen").stdout)
    ours = tool("pubkey", "-i", "ours.txt").stdout.decode().strip()
    check_eq(sh(["age-keygen", "-y", "ours.txt"]).stdout.decode().strip(), ours,
             "age-keygen -y of our identity file")
    # age-keygen's identity file: we derive the same recipient.
    theirs = age_keygen("theirs.txt")
    check_eq(tool("pubkey", "-i", "theirs.txt").stdout.decode().strip(), theirs,
             "our recipient of age-keygen's identity")
    # Both keys in one file, and a file encrypted by age to one of them.
    write("both.txt", read("ours.txt") + b"\n" + read("theirs.txt"))
    plain = data(70000, seed=11)
    write("plain", plain)
    sh(["age", "-r", ours, "-o", "to-ours.age", "plain"])
    sh(["age", "-r", theirs, "-o", "to-theirs.age", "plain"])
    for f in ("to-ours.age", "to-theirs.age"):
        check_eq(tool("decrypt", "-i", "both.txt", stdin=read(f)).stdout, plain, f)
        check_eq(sh(["age", "-d", "-i", "both.txt", f]).stdout, plain, "age -d " + f)


@test
def age_decrypts_our_passphrase_files():
    need_age()
    for wf in ("12", "0"):  # 0: the default work factor, as age -p's
        plain = data(150000, seed=int(wf) + 5)
        # AGE_TOOL_PASSPHRASE=... age_tool encrypt -p -w WF <plain >ct.age
        write("ct.age", tool("encrypt", "-p", "-w", wf, stdin=plain,
                             env={"AGE_TOOL_PASSPHRASE": PASSPHRASE}).stdout)
        check(b" %d\n" % (int(wf) or 18) in read("ct.age")[:200], "scrypt work factor")
        # age -d -o out ct.age, the passphrase typed on its terminal
        rc, screen = with_tty(["age", "-d", "-o", "out", "ct.age"], PASSPHRASE, prompts=1)
        check_eq(rc, 0, "age -d of our passphrase file: %s" % screen)
        check_eq(read("out"), plain, "age -d output")


@test
def we_decrypt_age_passphrase_files():
    need_age()
    plain = data(100000, seed=13)
    write("plain", plain)
    # age -p -o ct.age plain, the passphrase typed twice on its terminal
    rc, screen = with_tty(["age", "-p", "-o", "ct.age", "plain"], PASSPHRASE, prompts=2)
    check_eq(rc, 0, "age -p: %s" % screen)
    check(b"\n-> scrypt " in read("ct.age"), "age -p wrote an scrypt stanza")
    # AGE_TOOL_PASSPHRASE=... age_tool decrypt -p <ct.age
    out = tool("decrypt", "-p", stdin=read("ct.age"),
               env={"AGE_TOOL_PASSPHRASE": PASSPHRASE}).stdout
    check_eq(out, plain, "our decryption of age -p's file")
    # A wrong passphrase, and a work factor above our ceiling: refused.
    p = tool("decrypt", "-p", stdin=read("ct.age"), ok=False,
             env={"AGE_TOOL_PASSPHRASE": PASSPHRASE + "!"})
    check_eq(p.returncode, 1, "wrong passphrase")
    check(b"no identity matches any recipient" in p.stderr, p.stderr.decode())
    p = tool("decrypt", "-p", "-m", "17", stdin=read("ct.age"), ok=False,
             env={"AGE_TOOL_PASSPHRASE": PASSPHRASE})
    check(b"work factor 18 is above the limit 17" in p.stderr, p.stderr.decode())
    check_eq(p.stdout, b"", "nothing released")


@test
def refusals_hold_on_files_age_made():
    need_age()
    pub = age_keygen("key.txt")
    age_keygen("other.txt")
    plain = data(3 * 65536 + 10, seed=17)
    write("plain", plain)
    sh(["age", "-r", pub, "-o", "ct.age", "plain"])
    ct = read("ct.age")

    p = tool("decrypt", "-i", "other.txt", stdin=ct, ok=False)
    check_eq(p.returncode, 1, "wrong identity")
    check(b"no identity matches any recipient of the encrypted file (usage)" in p.stderr,
          p.stderr.decode())
    check_eq(p.stdout, b"", "nothing released to the wrong identity")

    os.chmod("key.txt", 0o644)
    p = tool("decrypt", "-i", "key.txt", stdin=ct, ok=False)
    check(b"accessible by group or others" in p.stderr and b"(refused)" in p.stderr,
          p.stderr.decode())
    os.chmod("key.txt", 0o600)

    p = tool("decrypt", "-i", "key.txt", stdin=ct[:-1], ok=False)
    check(b"does not authenticate" in p.stderr, p.stderr.decode())
    p = tool("decrypt", "-i", "key.txt", stdin=ct[:len(ct) - 10 - 16], ok=False)
    check(b"final chunk is missing" in p.stderr, p.stderr.decode())
    check_eq(p.stdout, plain[:3 * 65536], "the authentic chunks before the cut")
    p = tool("decrypt", "-i", "key.txt", stdin=ct + b"\0", ok=False)
    check_eq(p.returncode, 1, "a byte appended")

    # And age refuses the same damage in what we write.
    ours = tool("encrypt", "-r", pub, stdin=plain).stdout
    write("ours-cut.age", ours[:len(ours) - 10 - 16])
    check(sh(["age", "-d", "-i", "key.txt", "ours-cut.age"], ok=False).returncode != 0,
          "age -d accepted our file cut before its final chunk")

    # Armor: recognised, refused with a pointer to age -d.
    sh(["age", "-a", "-r", pub, "-o", "ct.asc", "plain"])
    check_eq(tool("detect", stdin=read("ct.asc")).stdout, b"armored\n", "detect armor")
    check_eq(tool("detect", stdin=ct).stdout, b"binary\n", "detect binary")
    check_eq(tool("detect", stdin=b"\x1f\x8b\x08\x00").stdout, b"none\n", "detect gzip")
    p = tool("decrypt", "-i", "key.txt", stdin=read("ct.asc"), ok=False)
    check(b"armored" in p.stderr and b"age -d" in p.stderr, p.stderr.decode())


if __name__ == "__main__":
    main()
