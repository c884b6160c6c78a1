"""Deterministic generator of realistic tenants (--seed N --users N).

Users are spread over the four default connections (most in the two
database connections, some Google and some SAML), with unicode names,
unique lower-case emails, usernames for legacy-db (it requires them),
E.164 phone numbers, nested metadata with PII-looking keys, a tail of large
(8-10 KB) profiles, ~3% blocked, MFA for some, six roles assigned to ~40%
of the users and four organizations with members and member roles.

The same (seed, users, domain) always gives the same tenant, byte for byte.
Speed: about 100k users in a few seconds; per-user storage is one JSON
bytes object (see fake_state.User).

model_2026=True (--model-2026) then reshapes that tenant the way Auth0
models users in 2026 (add_model_2026): passwordless `email` and `sms` users,
linked accounts, resource servers with direct and role permissions, and
organization roles.  It draws from its own random stream, so the base tenant
(and every existing seed's output without the option) is unchanged.
"""

import hashlib
import random

from fake_state import User
from fake_util import iso, rand_hex

# (given names, family names, order) per culture; order "w" = given family,
# "e" = family given without a space (CJK); each name is (display, ascii).
CULTURES = [
    (
        [("James", "james"), ("Mary", "mary"), ("Robert", "robert"), ("Linda", "linda"), ("Michael", "michael"),
         ("Sarah", "sarah"), ("David", "david"), ("Emily", "emily"), ("Daniel", "daniel"), ("Olivia", "olivia")],
        [("Smith", "smith"), ("Johnson", "johnson"), ("Brown", "brown"), ("Taylor", "taylor"), ("Miller", "miller"),
         ("O'Connor", "oconnor"), ("Wilson", "wilson"), ("Clarke", "clarke")],
        "w",
    ),
    (
        [("José", "jose"), ("María", "maria"), ("Zoë", "zoe"), ("François", "francois"), ("Chloé", "chloe"),
         ("Björn", "bjorn"), ("Søren", "soren"), ("Łukasz", "lukasz"), ("Ángela", "angela"), ("Jürgen", "jurgen")],
        [("García", "garcia"), ("Núñez", "nunez"), ("Müller", "muller"), ("Lefèvre", "lefevre"), ("Østergård", "ostergard"),
         ("Wiśniewski", "wisniewski"), ("Dvořák", "dvorak"), ("Çelik", "celik")],
        "w",
    ),
    (
        [("伟", "wei"), ("芳", "fang"), ("秀英", "xiuying"), ("陽菜", "hina"), ("蓮", "ren"), ("민준", "minjun"), ("서연", "seoyeon")],
        [("王", "wang"), ("李", "li"), ("张", "zhang"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("김", "kim"), ("박", "park")],
        "e",
    ),
    (
        [("محمد", "mohammed"), ("فاطمة", "fatima"), ("علي", "ali"), ("דוד", "david"), ("שרה", "sarah"), ("יעל", "yael")],
        [("العلي", "alali"), ("حداد", "haddad"), ("כהן", "cohen"), ("לוי", "levi")],
        "w",
    ),
]

EMAIL_DOMAINS = ["example.com", "example.org", "mail.example", "corp.example", "example.net", "inbox.example"]
LANGS = ["en", "fr", "de", "es", "ja", "zh", "ar", "he", "pt-BR", "ko"]
THEMES = ["light", "dark", "system"]
CITIES = [
    ("1600 Amphitheatre Pkwy", "Mountain View", "94043", "US"),
    ("12 Rue de la Paix", "Paris", "75002", "FR"),
    ("Unter den Linden 5", "Berlin", "10117", "DE"),
    ("Calle de Alcalá 42", "Madrid", "28014", "ES"),
    ("東京都千代田区丸の内1-1", "東京", "100-0005", "JP"),
    ("شارع الملك فهد 10", "الرياض", "12211", "SA"),
    ("רחוב הרצל 15", "תל אביב", "6100001", "IL"),
    ("221B Baker Street", "London", "NW1 6XE", "GB"),
]
PLANS = ["free", "free", "free", "pro", "pro", "team", "enterprise"]
SOURCES = ["web", "ios", "android", "partner", "import"]
TAGS = ["vip", "beta", "newsletter", "churn-risk", "early-adopter", "support-priority", "trial"]
PHONE_PREFIXES = ["+1415555", "+44770090", "+3361234", "+8190123", "+4915112", "+972541"]
EVENTS = ["login", "password_change", "profile_update", "plan_upgrade", "support_ticket", "export_request"]
LOREM = (
    "Customer called about invoice discrepancy; agreed to credit next cycle. "
    "Notes: prefers email contact, timezone Europe/Paris, handles procurement. "
)

ROLES = [
    ("admin", "Full administrative access"),
    ("editor", "Can edit content"),
    ("viewer", "Read-only access"),
    ("billing", "Manages invoices and payment methods"),
    ("support", "Customer support agent"),
    ("auditor", "Reads audit logs"),
]
ROLE_WEIGHTS = [8, 25, 35, 10, 12, 10]
ORGS = [
    ("acme-corp", "Acme Corporation", {"branding": {"logo_url": "https://acme.example/logo.png",
                                                     "colors": {"primary": "#0059d6", "page_background": "#ffffff"}}}),
    ("globex", "Globex Corporation", {"metadata": {"region": "us-east", "tier": "gold"}}),
    ("initech", "Initech", {}),
    ("umbrella", "Umbrella Corporation", {"branding": {"logo_url": "https://umbrella.example/logo.svg"}}),
]
ORG_ROLE_NAMES = ["admin", "editor", "viewer", "billing"]

T_START = 1451606400  # 2016-01-01
T_END = 1717200000  # 2024-06-01


def _b36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = digits[r] + s
        if n == 0:
            return s


def make_user(rng, i, conn_name):
    """One realistic user object (dict) number i in connection conn_name."""
    rnd = rng.random

    def pick(seq):
        return seq[int(rnd() * len(seq))]

    def randint(a, b):
        return a + int(rnd() * (b - a + 1))

    r = rnd()
    culture = CULTURES[0 if r < 0.45 else 1 if r < 0.75 else 2 if r < 0.9 else 3]
    gn, ga = pick(culture[0])
    fn, fa = pick(culture[1])
    full = (fn + gn) if culture[2] == "e" else (gn + " " + fn)
    created = randint(T_START, T_END - 86400 * 30) + rnd()
    updated = created + randint(0, T_END - int(created)) * (rnd() < 0.7)
    u = {"created_at": iso(created)}

    if conn_name in ("Username-Password-Authentication", "legacy-db"):
        email = "%s.%s%d@%s" % (ga, fa, i, pick(EMAIL_DOMAINS))
        uid_raw = "%024x" % rng.getrandbits(96)
        uid = "auth0|" + uid_raw
        ident = {"connection": conn_name, "user_id": uid_raw, "provider": "auth0", "isSocial": False}
        u["email"] = email
        u["email_verified"] = rnd() < 0.8
        h = hashlib.md5(email.encode()).hexdigest()
        u["picture"] = "https://s.gravatar.com/avatar/%s?s=480&r=pg&d=https%%3A%%2F%%2Fcdn.auth0.com%%2Favatars%%2F%s.png" % (h, ga[:2])
        if rnd() < 0.6:
            u["given_name"] = gn
            u["family_name"] = fn
            u["name"] = full
        else:
            u["name"] = email
        u["nickname"] = email.split("@")[0]
        if conn_name == "legacy-db":
            u["username"] = "%s_%s" % (ga[:8], _b36(i))
        if rnd() < 0.2:
            u["phone_number"] = "%s%04d" % (pick(PHONE_PREFIXES), i % 10000)
            u["phone_verified"] = rnd() < 0.5
        if rnd() < 0.05:
            u["last_password_reset"] = iso(created + rnd() * (T_END - created))
    elif conn_name == "google-oauth2":
        email = "%s.%s%d@gmail.example" % (ga, fa, i)
        raw = "1%020d" % rng.getrandbits(64)
        uid = "google-oauth2|" + raw
        ident = {"provider": "google-oauth2", "user_id": raw, "connection": "google-oauth2", "isSocial": True}
        u["email"] = email
        u["email_verified"] = True
        u["given_name"] = gn
        u["family_name"] = fn
        u["name"] = full
        u["nickname"] = ga
        u["picture"] = "https://lh3.googleusercontent.com/a/%022x=s96-c" % rng.getrandbits(88)
        u["locale"] = pick(LANGS)
    else:
        email = "%s.%s%d@acme.example" % (ga, fa, i)
        raw = "%s|%s" % (conn_name, email)
        uid = "samlp|" + raw
        ident = {"provider": "samlp", "user_id": raw, "connection": conn_name, "isSocial": False}
        u["email"] = email
        u["email_verified"] = True
        u["given_name"] = gn
        u["family_name"] = fn
        u["name"] = full
        u["nickname"] = ga
        u["picture"] = "https://cdn.auth0.com/avatars/%s.png" % ga[:2]

    u["identities"] = [ident]
    u["updated_at"] = iso(updated)
    u["user_id"] = uid

    # metadata: social/SAML users carry less of it
    um = {"preferences": {"language": pick(LANGS), "theme": pick(THEMES),
                          "newsletter": rnd() < 0.4, "notifications": {"email": rnd() < 0.7, "sms": rnd() < 0.2}}}
    if rnd() < 0.4:
        street, city, pc, country = pick(CITIES)
        um["address"] = {"street": street, "city": city, "postal_code": pc, "country": country}
    if rnd() < 0.3:
        um["birthdate"] = "%04d-%02d-%02d" % (randint(1950, 2005), randint(1, 12), randint(1, 28))
    if rnd() < 0.15:
        um["phone"] = "%s%04d" % (pick(PHONE_PREFIXES), randint(0, 9999))
    if rnd() < 0.3:
        um["tags"] = rng.sample(TAGS, randint(1, 3))
    if rnd() < 0.1:
        um["display_name"] = full
    if rnd() < 0.015:  # the large-profile tail: 8-10 KB of metadata
        target = randint(8000, 9800)
        hist = []
        size = 0
        while size < target:
            e = {"at": iso(created + rnd() * 1e7), "event": pick(EVENTS), "note": LOREM[: randint(60, len(LOREM))]}
            hist.append(e)
            size += len(e["note"]) + 60
        um["history"] = hist
    if conn_name != "acme-saml" or rnd() < 0.3:
        u["user_metadata"] = um

    am = {"plan": pick(PLANS), "flags": {"beta": rnd() < 0.2, "early_access": rnd() < 0.1},
          "customer_id": "cus_%014x" % rng.getrandbits(56), "signup": {"source": pick(SOURCES)}}
    if rnd() < 0.2:
        am["billing"] = {"account_id": "acct_%08d" % randint(0, 99999999), "tier": pick(["basic", "plus", "premium"]),
                         "seats": randint(1, 500), "tax_ids": [{"type": "vat", "value": "FR%011d" % randint(0, 10**11 - 1)}]}
    if conn_name == "legacy-db":
        am["legacy_id"] = 100000 + i
    if rnd() < 0.85:
        u["app_metadata"] = am

    if rnd() < 0.03:
        u["blocked"] = True
    elif rnd() < 0.2:
        u["blocked"] = False
    if rnd() < 0.85:
        last = created + rnd() * (T_END - created)
        u["last_login"] = iso(last)
        u["last_ip"] = "%d.%d.%d.%d" % (randint(1, 223), randint(0, 255), randint(0, 255), randint(1, 254))
        u["logins_count"] = randint(1, 500)
    else:
        u["logins_count"] = 0
    if rnd() < 0.05:
        u["multifactor"] = [pick(["guardian", "google-authenticator", "duo"])]
        u["multifactor_last_modified"] = iso(created + rnd() * (T_END - created))
    return u


def generate(tenant, seed, n, model_2026=False):
    """Fill tenant with n users, the roles and the organizations (then, with
    model_2026, apply add_model_2026)."""
    rng = random.Random("a0snap-fake/%s/%d" % (tenant.domain, seed))
    roles = [tenant.add_role(name, desc, rng=rng) for name, desc in ROLES]
    orgs = [tenant.add_org(name, disp, rng=rng, extra=extra) for name, disp, extra in ORGS]
    org_roles = [r for r in roles if r["name"] in ORG_ROLE_NAMES]
    conns = ["Username-Password-Authentication", "legacy-db", "google-oauth2", "acme-saml"]
    conn_w = [55, 25, 12, 8]
    picks = rng.choices(conns, conn_w, k=n)
    users = tenant.users
    for i in range(n):
        obj = make_user(rng, i, picks[i])
        while obj["user_id"] in users:  # astronomically rare; keep ids unique
            obj = make_user(rng, i, picks[i])
        u = User(obj)
        tenant.add_record(u)
        r = rng.random()
        if r < 0.40:
            k = 1 if r < 0.28 else 2
            chosen = dict.fromkeys(x["id"] for x in rng.choices(roles, ROLE_WEIGHTS, k=k))
            tenant.assign_roles(u.uid, list(chosen))
        r = rng.random()
        if r < 0.18:
            member_of = [rng.choice(orgs)]
            if r < 0.03:
                member_of = rng.sample(orgs, 2)
            for o in member_of:
                tenant.add_members(o["id"], [u.uid])
                if rng.random() < 0.5:
                    tenant.org_members[o["id"]][u.uid].append(rng.choice(org_roles)["id"])
    tenant.finish_bulk()
    tenant._sorted_cache.clear()
    if model_2026:
        add_model_2026(tenant, seed)


# --- the 2026 model ------------------------------------------------------

RESOURCE_SERVERS_2026 = [
    ("https://api.acme.example/", "Acme API", [
        ("read:orders", "Read orders"), ("write:orders", "Create and change orders"),
        ("read:invoices", "Read invoices"), ("admin:orders", "Administer orders")]),
    ("https://reports.example.com/", "Reports", [
        ("read:reports", "Read reports"), ("export:reports", "Export reports")]),
]
# permissions the tenant roles carry (so a user's permissions come from
# DIRECT grants, ROLE grants, or both)
ROLE_PERMISSIONS_2026 = {
    "admin": [("https://api.acme.example/", "admin:orders"), ("https://api.acme.example/", "write:orders"),
              ("https://api.acme.example/", "read:invoices")],
    "billing": [("https://api.acme.example/", "read:invoices")],
    "support": [("https://api.acme.example/", "read:orders")],
    "auditor": [("https://reports.example.com/", "read:reports")],
}
# organization roles: "admin" named like a tenant role, "approver" in both
ORG_ROLES_2026 = [
    ("acme-corp", "admin", "Acme organization administrator"),
    ("acme-corp", "approver", "Approves Acme purchase orders"),
    ("globex", "admin", "Globex organization administrator"),
    ("globex", "approver", "Approves Globex expenses"),
]
PASSWORDLESS_PICTURE = "https://cdn.auth0.com/avatars/default.png"
DATABASES = ("Username-Password-Authentication", "legacy-db")
# kept from a converted user's profile (what a passwordless user can hold)
KEEP_2026 = ("created_at", "email", "email_verified", "given_name", "family_name", "name", "nickname", "picture",
             "phone_number", "phone_verified", "updated_at", "user_metadata", "app_metadata", "blocked",
             "last_login", "last_ip", "logins_count")


def _rekey(t, old_uid, new_obj):
    """Replace user old_uid by new_obj (another user_id), keeping its roles,
    memberships and permissions; the caller re-sorts (finish_bulk)."""
    rec = t.users.pop(old_uid)
    t._unindex(rec)
    new = User(new_obj)
    t.users[new.uid] = new
    t._index(new)
    rids = t.user_roles.pop(old_uid, None)
    if rids:
        t.user_roles[new.uid] = rids
        for rid in rids:
            t.role_users[rid].discard(old_uid)
            t.role_users[rid].add(new.uid)
    oids = t.user_orgs.pop(old_uid, None)
    if oids:
        t.user_orgs[new.uid] = oids
        for oid in oids:
            t.org_members[oid][new.uid] = t.org_members[oid].pop(old_uid)
    perms = t.user_perms.pop(old_uid, None)
    if perms:
        t.user_perms[new.uid] = perms
    return new


def _to_email_user(rng, u):
    raw = "%024x" % rng.getrandbits(96)
    out = {k: u[k] for k in KEEP_2026 if k in u}
    out["identities"] = [{"connection": "email", "user_id": raw, "provider": "email", "isSocial": False}]
    out["user_id"] = "email|" + raw
    return out


def _to_sms_user(rng, u, k):
    raw = "%024x" % rng.getrandbits(96)
    phone = "+1555%07d" % k  # unique: base users' numbers start +1415555, +44, +33, ...
    out = {k2: u[k2] for k2 in KEEP_2026 if k2 in u and k2 not in ("email", "email_verified", "picture")}
    if rng.random() < 0.4:  # an sms user may also have an email
        out["email"] = u["email"]
        out["email_verified"] = u.get("email_verified", False)
    out["phone_number"] = phone
    out["phone_verified"] = rng.random() < 0.9
    out["nickname"] = phone
    if rng.random() < 0.5 or out.get("name") == u["email"]:
        out["name"] = phone
        out.pop("given_name", None)
        out.pop("family_name", None)
    out["picture"] = PASSWORDLESS_PICTURE
    out["identities"] = [{"connection": "sms", "user_id": raw, "provider": "sms", "isSocial": False}]
    out["user_id"] = "sms|" + raw
    return out


def _secondary_2026(rng, u, k):
    """A linked identity for database user u: a database account in the
    other database connection (same email) or a Google account."""
    email = u["email"]
    if rng.random() < 0.6:
        conn = DATABASES[1] if u["identities"][0]["connection"] == DATABASES[0] else DATABASES[0]
        pd = {"email": email, "email_verified": rng.random() < 0.7, "nickname": email.split("@")[0],
              "picture": u.get("picture")}
        if conn == "legacy-db":  # it requires usernames
            pd["username"] = "lk_%s" % _b36(k)
        if "given_name" in u:
            pd["given_name"], pd["family_name"] = u["given_name"], u["family_name"]
        return {"profileData": pd, "connection": conn, "user_id": "%024x" % rng.getrandbits(96),
                "provider": "auth0", "isSocial": False}
    pd = {"email": email, "email_verified": True, "name": u.get("name", email),
          "picture": "https://lh3.googleusercontent.com/a/%022x=s96-c" % rng.getrandbits(88)}
    if "given_name" in u:
        pd["given_name"], pd["family_name"] = u["given_name"], u["family_name"]
    return {"profileData": pd, "connection": "google-oauth2", "user_id": "1%020d" % rng.getrandbits(64),
            "provider": "google-oauth2", "isSocial": True}


def add_model_2026(t, seed):
    """Reshape a generated tenant the way Auth0 models users in 2026:
    - connections `email` and `sms`; ~5% of all users become email users
      (`email|<24 hex>`) and ~5% sms users (`sms|<24 hex>`, E.164 numbers,
      some with an email), keeping their roles and memberships;
    - ~5% of the remaining database users get a linked identity with
      profileData: a database account in the other database connection
      (same email) or a Google account;
    - two resource servers with scopes; the tenant roles admin, billing,
      support and auditor carry permissions; ~10% of users get 1-2 direct
      permissions, some of them also held through a role;
    - organization roles: acme-corp and globex each own an "admin" (named
      like the tenant role) and an "approver"; ~35% of their members get one.
    Deterministic for (domain, seed); its own random stream."""
    rng = random.Random("a0snap-fake-2026/%s/%d" % (t.domain, seed))
    t.add_connection("email", "email")
    t.add_connection("sms", "sms")
    for ident, name, scopes in RESOURCE_SERVERS_2026:
        t.put_resource_server({"id": rand_hex(24, rng), "identifier": ident, "name": name,
                               "scopes": [{"value": v, "description": d} for v, d in scopes]})
    roles = {r["name"]: r for r in t.roles.values() if r["type"] == "tenant"}
    for rname, perms in ROLE_PERMISSIONS_2026.items():
        if rname in roles:
            t.add_permissions(roles[rname]["id"], perms, t.role_perms)
    org_roles = {}
    for oname, rname, desc in ORG_ROLES_2026:
        o = t.org_by_name(oname)
        if o is not None:
            r = t.add_role(rname, desc, rng=rng, rtype="organization", owner_id=o["id"])
            org_roles.setdefault(o["id"], []).append(r["id"])
    all_perms = [(ident, v) for ident, _, scopes in RESOURCE_SERVERS_2026 for v, _ in scopes]
    n_sms = n_link = 0
    for uid in list(t.sorted_ids):
        u = t.users[uid].obj()
        conn = u["identities"][0]["connection"]
        r = rng.random()
        if r < 0.05:
            uid = _rekey(t, uid, _to_email_user(rng, u)).uid
        elif r < 0.10:
            n_sms += 1
            uid = _rekey(t, uid, _to_sms_user(rng, u, n_sms)).uid
        elif conn in DATABASES and rng.random() < 0.055:
            n_link += 1
            u["identities"].append(_secondary_2026(rng, u, n_link))
            t.replace_user(u)
        if rng.random() < 0.10:
            own = [p for rid in t.user_roles.get(uid, []) for p in t.role_perms.get(rid, [])]
            picks = rng.sample(all_perms, 1 + (rng.random() < 0.4))
            if own and rng.random() < 0.5:  # also held through a role: two sources
                picks.append(rng.choice(own))
            t.add_permissions(uid, list(dict.fromkeys(picks)))
        for oid in t.user_orgs.get(uid, []):
            if oid in org_roles and rng.random() < 0.35:
                t.org_members[oid][uid].append(rng.choice(org_roles[oid]))
    t.finish_bulk()
    t._sorted_cache.clear()
