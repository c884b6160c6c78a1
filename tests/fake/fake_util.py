"""Shared helpers for the fake Auth0 tenant: ids, time, errors, validation.

Everything here is pure (no sockets, no threads) so the other fake_* modules
can use it freely.  Error bodies follow the real Management API:
{"statusCode", "error", "message", "errorCode"?}.
"""

import json
import re
import secrets
import string
import threading
import time

ALNUM = string.ascii_letters + string.digits

REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Request Entity Too Large",
    414: "Request-URI Too Large",
    415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """An error answered as an Auth0 error body."""

    def __init__(self, status, message, error_code=None, extra=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.extra = extra or {}

    def body(self):
        return error_body(self.status, self.message, self.error_code, self.extra)


def error_body(status, message, error_code=None, extra=None):
    b = {"statusCode": status, "error": REASONS.get(status, "Error"), "message": message}
    if error_code:
        b["errorCode"] = error_code
    if extra:
        b.update(extra)
    return b


def bad_body(msg, prop=None):
    """400 invalid_body in the 'Payload validation error' style."""
    if prop:
        text = "Payload validation error: '%s' on property %s" % (msg, prop)
    else:
        text = "Payload validation error: '%s'." % msg
    return ApiError(400, text, "invalid_body")


def bad_query(msg, prop=None):
    if prop:
        text = "Query validation error: '%s' on property %s" % (msg, prop)
    else:
        text = "Query validation error: '%s'." % msg
    return ApiError(400, text, "invalid_query_string")


class Clock:
    """Wall clock that tests can freeze and advance (POST /__clock).

    It drives job progress, link expiry and token expiry; the rate limiter
    uses real time.
    """

    def __init__(self):
        self.offset = 0.0
        self.frozen = None
        self.cond = threading.Condition()

    def now(self):
        f = self.frozen
        if f is not None:
            return f
        return time.time() + self.offset

    def freeze(self):
        with self.cond:
            if self.frozen is None:
                self.frozen = time.time() + self.offset

    def unfreeze(self):
        with self.cond:
            if self.frozen is not None:
                self.offset = self.frozen - time.time()
                self.frozen = None
            self.cond.notify_all()

    def advance(self, seconds):
        with self.cond:
            if self.frozen is not None:
                self.frozen += float(seconds)
            else:
                self.offset += float(seconds)
            self.cond.notify_all()

    def wait(self, timeout):
        """Sleep up to timeout real seconds, waking early on advance()."""
        with self.cond:
            self.cond.wait(timeout)


def iso(ts):
    """Epoch seconds -> Auth0 style '2023-01-25T17:48:15.325Z'."""
    t = time.gmtime(ts)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (t[0], t[1], t[2], t[3], t[4], t[5], int(ts * 1000) % 1000)


def rand_alnum(n, rng=None):
    if rng is None:
        return "".join(secrets.choice(ALNUM) for _ in range(n))
    return "".join(rng.choice(ALNUM) for _ in range(n))


def new_id(prefix, rng=None):
    return prefix + rand_alnum(16, rng)


def rand_hex(n, rng=None):
    if rng is None:
        return secrets.token_hex((n + 1) // 2)[:n]
    return "%0*x" % (n, rng.getrandbits(4 * n))


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def dumps_sorted(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def gravatar(email):
    import hashlib

    h = hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()
    initials = (email[:2] or "xx").lower()
    return (
        "https://s.gravatar.com/avatar/%s?s=480&r=pg&d=https%%3A%%2F%%2Fcdn.auth0.com"
        "%%2Favatars%%2F%s.png" % (h, initials)
    )


# --- a small JSON-schema subset with z-schema style codes and messages -----

EMAIL_RE = re.compile(r"^[^\s@\"<>()\[\],;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")
E164 = r"^\+[1-9]\d{1,14}$"


def _jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "unknown"


def _type_ok(v, t):
    jt = _jtype(v)
    if t == "number":
        return jt in ("number", "integer")
    return jt == t


def validate(value, schema, path=""):
    """Return a list of (code, message, path) for value against schema.

    Supported keywords: type, properties, additionalProperties (bool),
    required, minLength, maxLength, pattern, format (email, uri), enum,
    minimum, maximum, items, minItems, maxItems, forbidden_keys (our own:
    keys that must not appear; reported as NOT_PASSED), oneOf (first
    branch that validates wins; ONE_OF_MISSING otherwise).
    """
    errs = []
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(_type_ok(value, x) for x in types):
            errs.append(("INVALID_TYPE", "Expected type %s but found type %s" % ("/".join(types), _jtype(value)), path))
            return errs
    if "enum" in schema and value not in schema["enum"]:
        errs.append(("ENUM_MISMATCH", "No enum match for: %s" % json.dumps(value), path))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errs.append(("MIN_LENGTH", "String is too short (%d chars), minimum %d" % (len(value), schema["minLength"]), path))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append(("MAX_LENGTH", "String is too long (%d chars), maximum %d" % (len(value), schema["maxLength"]), path))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errs.append(("PATTERN", "String does not match pattern %s: %s" % (schema["pattern"], value), path))
        fmt = schema.get("format")
        if fmt == "email" and not EMAIL_RE.match(value):
            errs.append(("FORMAT", "Object didn't pass validation for format email: %s" % value, path))
        if fmt == "uri" and not URI_RE.match(value):
            errs.append(("FORMAT", "Object didn't pass validation for format uri: %s" % value, path))
    if _jtype(value) in ("integer", "number") and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append(("MINIMUM", "Value %s is less than minimum %s" % (value, schema["minimum"]), path))
        if "maximum" in schema and value > schema["maximum"]:
            errs.append(("MAXIMUM", "Value %s is greater than maximum %s" % (value, schema["maximum"]), path))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errs.append(("ARRAY_LENGTH_SHORT", "Array is too short (%d), minimum %d" % (len(value), schema["minItems"]), path))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errs.append(("ARRAY_LENGTH_LONG", "Array is too long (%d), maximum %d" % (len(value), schema["maxItems"]), path))
        if "items" in schema:
            for i, item in enumerate(value):
                errs.extend(validate(item, schema["items"], "%s[%d]" % (path, i)))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            if req not in value:
                errs.append(("OBJECT_REQUIRED", "Missing required property: %s" % req, path))
        if schema.get("additionalProperties") is False:
            extra = [k for k in value if k not in props]
            if extra:
                errs.append(("OBJECT_ADDITIONAL_PROPERTIES", "Additional properties not allowed: %s" % ",".join(extra), path))
        forbidden = [k for k in schema.get("forbidden_keys", ()) if k in value]
        if forbidden:
            errs.append(("NOT_PASSED", "Data matches schema from 'not' (reserved keys: %s)" % ",".join(forbidden), path))
        for k, sub in props.items():
            if k in value:
                errs.extend(validate(value[k], sub, (path + "." + k) if path else k))
    if "oneOf" in schema:
        if not any(not validate(value, br, path) for br in schema["oneOf"]):
            errs.append(("ONE_OF_MISSING", "Data does not match any schemas from 'oneOf'", path))
    return errs


def check_body(value, schema):
    """Validate a request body; raise the first error as a 400 invalid_body."""
    if not isinstance(value, dict):
        raise bad_body("Expected type object but found type %s" % _jtype(value))
    errs = validate(value, schema)
    if errs:
        code, msg, path = errs[0]
        raise bad_body(msg, path or None)
