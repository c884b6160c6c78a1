#!/usr/bin/env python3
"""A stateful fake Auth0 Management API tenant (one tenant per process).

    python3 tests/fake/fake_tenant.py --domain DOMAIN [options]

Once both listeners accept connections it prints one JSON line on stdout:
{"domain","api_url","download_url","client_id","client_secret","pid"}
(and writes the same JSON atomically to --ready-file).  See README.md.
"""

import argparse
import atexit
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_gen import generate  # noqa: E402
from fake_http import Fake, make_server  # noqa: E402
from fake_state import Tenant  # noqa: E402
from fake_util import ApiError, rand_alnum  # noqa: E402
import fake_quirks  # noqa: E402

EXPORT_SCOPES = "read:users read:connections read:roles read:role_members read:organizations read:organization_members read:organization_member_roles"
IMPORT_SCOPES = "create:users update:users read:users read:connections read:roles create:role_members read:organizations create:organization_members create:organization_member_roles"
EXTRA_SCOPES = "delete:users update:users_app_metadata create:roles read:role_members create:role_members delete:role_members delete:organization_members delete:organization_member_roles read:organization_member_roles update:roles read:resource_servers"


def default_scopes():
    out = []
    for s in (EXPORT_SCOPES + " " + IMPORT_SCOPES + " " + EXTRA_SCOPES).split():
        if s not in out:
            out.append(s)
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description="fake Auth0 Management API tenant")
    p.add_argument("--domain", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--download-port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--client-id")
    p.add_argument("--client-secret-env")
    p.add_argument("--scopes")
    p.add_argument("--token-ttl", type=int, default=86400)
    p.add_argument("--seed", type=int)
    p.add_argument("--users", type=int, default=0)
    p.add_argument("--model-2026", action="store_true",
                   help="the generator adds passwordless users, linked accounts, permissions and organization roles")
    p.add_argument("--rate-burst", type=int, default=1000)
    p.add_argument("--rate-per-sec", type=float, default=1000.0)
    p.add_argument("--job-rate", type=float, default=20000.0)
    p.add_argument("--link-ttl", type=float, default=60.0)
    p.add_argument("--quirks", help="JSON object of quirk settings (see README.md)")
    p.add_argument("--log-file")
    p.add_argument("--ready-file")
    p.add_argument("--exit-on-stdin-eof", action="store_true", help="exit when stdin closes (fakectl uses this)")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    if a.users and a.seed is None:
        a.seed = 0
    client_id = a.client_id or rand_alnum(32)
    if a.client_secret_env:
        secret = os.environ.get(a.client_secret_env)
        if not secret:
            print("fake_tenant: environment variable '%s' is empty or unset" % a.client_secret_env, file=sys.stderr)
            return 2
    else:
        secret = secrets.token_urlsafe(48)
    scopes = a.scopes.split() if a.scopes is not None else default_scopes()
    cfg = {
        "rate_burst": a.rate_burst,
        "rate_per_sec": a.rate_per_sec,
        "job_rate": a.job_rate,
        "link_ttl": a.link_ttl,
        "token_ttl": a.token_ttl,
    }
    tmpdir = tempfile.mkdtemp(prefix="a0snap-fake-")
    atexit.register(shutil.rmtree, tmpdir, True)

    quirks = {}
    if a.quirks:
        try:
            quirks = json.loads(a.quirks)
            fake_quirks.apply(fake_quirks.defaults(), quirks)
        except (ValueError, ApiError) as e:
            print("fake_tenant: bad --quirks: %s" % (e.message if isinstance(e, ApiError) else e), file=sys.stderr)
            return 2

    tenant = Tenant(a.domain, client_id)
    if a.seed is not None:
        generate(tenant, a.seed, a.users, model_2026=a.model_2026)
    fake = Fake(tenant, client_id, secret, scopes, cfg, tmpdir, a.log_file, quirks)

    api = make_server(fake, "api", a.port)
    dl = make_server(fake, "download", a.download_port)
    fake.api_url = "http://127.0.0.1:%d" % api.server_address[1]
    fake.download_url = "http://127.0.0.1:%d" % dl.server_address[1]
    for srv in (api, dl):
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    ready = {
        "domain": a.domain,
        "api_url": fake.api_url,
        "download_url": fake.download_url,
        "client_id": client_id,
        "client_secret": secret,
        "pid": os.getpid(),
    }
    line = json.dumps(ready)
    if a.ready_file:
        tmp = a.ready_file + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, a.ready_file)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

    def quit_now(*_):
        # Exit at once: no request thread is worth waiting for, and the
        # only state to clean is the temp folder and the log file.
        try:
            if fake.log_file:
                fake.log_file.flush()
        except Exception:
            pass
        shutil.rmtree(tmpdir, True)
        os._exit(0)

    signal.signal(signal.SIGTERM, quit_now)
    signal.signal(signal.SIGINT, quit_now)
    if a.exit_on_stdin_eof:
        def watch_stdin():
            try:
                while os.read(0, 4096):
                    pass
            except OSError:
                pass
            quit_now()

        threading.Thread(target=watch_stdin, daemon=True).start()
    while True:
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
