"""A useful subset of the Lucene query syntax used by GET /users?q=.

Supported: field:value, field:"quoted value", trailing (or inner) *
wildcards, AND / OR / NOT (also && || ! and a leading -), parentheses,
ranges field:[a TO b] / field:{a TO b} with * for an open end,
_exists_:field, and bare terms (matched against email, name, nickname,
username, given_name, family_name, user_id).  Adjacent clauses without an
operator are OR-ed, as in Lucene.  Field paths are dotted
(identities.connection, app_metadata.plan.tier); arrays fan out.

String matching is case-insensitive.  Anything else raises LuceneError,
which the API answers with a 400.

compile_query(text) returns a predicate over a "doc": any object with a
values(path) method returning the list of values found at that path.
"""

import re


class LuceneError(ValueError):
    pass


FREE_TEXT_FIELDS = ("email", "name", "nickname", "username", "given_name", "family_name", "user_id")

_SPECIAL = set('()"[]{}')


def _tokenize(s):
    toks = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            toks.append((c, c))
            i += 1
            continue
        if c == '"':
            j = i + 1
            buf = []
            while j < n and s[j] != '"':
                if s[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(s[j])
                j += 1
            if j >= n:
                raise LuceneError("unterminated quoted string")
            toks.append(("QUOTED", "".join(buf)))
            i = j + 1
            continue
        if c in "[{":
            j = s.find("]" if c == "[" else "}", i)
            if j < 0:
                j2 = max(s.find("]", i), s.find("}", i))
                if j2 < 0:
                    raise LuceneError("unterminated range")
                j = j2
            inner = s[i + 1 : j]
            m = re.match(r"^\s*(\S+)\s+TO\s+(\S+)\s*$", inner)
            if not m:
                raise LuceneError("bad range syntax")
            toks.append(("RANGE", (c == "[", m.group(1), m.group(2), s[j] == "]")))
            i = j + 1
            continue
        if c in "]}":
            raise LuceneError("unexpected '%s'" % c)
        j = i
        buf = []
        while j < n and not s[j].isspace() and s[j] not in _SPECIAL:
            if s[j] == "\\" and j + 1 < n:
                buf.append(s[j + 1])
                j += 2
                continue
            buf.append(s[j])
            j += 1
            if buf[-1] == ":" and buf[:-1]:
                break
        word = "".join(buf)
        i = j
        if word in ("AND", "&&"):
            toks.append(("AND", word))
        elif word in ("OR", "||"):
            toks.append(("OR", word))
        elif word in ("NOT", "!"):
            toks.append(("NOT", word))
        elif word.startswith("-") and len(word) > 1:
            toks.append(("NOT", "-"))
            rest = word[1:]
            if rest.endswith(":"):
                toks.append(("FIELD", rest[:-1]))
            else:
                toks.append(("WORD", rest))
        elif word.startswith("+") and len(word) > 1:
            rest = word[1:]
            toks.append(("FIELD", rest[:-1]) if rest.endswith(":") else ("WORD", rest))
        elif word.endswith(":") and len(word) > 1:
            toks.append(("FIELD", word[:-1]))
        elif ":" in word:
            f, _, v = word.partition(":")
            if not f or not v:
                raise LuceneError("bad term '%s'" % word)
            toks.append(("FIELD", f))
            toks.append(("WORD", v))
        else:
            toks.append(("WORD", word))
    return toks


def _str(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return str(v)


def _term_matcher(term, quoted):
    t = term.lower()
    if not quoted and "*" in t or (not quoted and "?" in t):
        if t == "*":
            return lambda v: v is not None
        rx = re.compile("^" + ".*".join(re.escape(p).replace("\\?", ".") for p in t.split("*")) + "$", re.S)
        return lambda v: not isinstance(v, (dict, list)) and rx.match(_str(v).lower()) is not None
    return lambda v: not isinstance(v, (dict, list)) and _str(v).lower() == t


def _num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _range_matcher(lo_inc, lo, hi, hi_inc):
    def cmp_ok(v):
        if isinstance(v, (dict, list)) or v is None:
            return False
        vs = _str(v)
        for bound, inc, is_lo in ((lo, lo_inc, True), (hi, hi_inc, False)):
            if bound == "*":
                continue
            a, b = _num(vs), _num(bound)
            if a is not None and b is not None:
                x, y = a, b
            else:
                x, y = vs.lower(), bound.lower()
            if is_lo and (x < y or (x == y and not inc)):
                return False
            if not is_lo and (x > y or (x == y and not inc)):
                return False
        return True

    return cmp_ok


class _Parser:
    def __init__(self, toks):
        self.toks = toks
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def parse(self):
        if not self.toks:
            raise LuceneError("empty query")
        e = self.or_expr()
        if self.i != len(self.toks):
            raise LuceneError("unexpected '%s'" % (self.peek()[1],))
        return e

    def or_expr(self):
        parts = [self.and_expr()]
        while True:
            k, _ = self.peek()
            if k == "OR":
                self.take()
                parts.append(self.and_expr())
            elif k in ("WORD", "QUOTED", "FIELD", "(", "NOT", "RANGE"):
                parts.append(self.and_expr())
            else:
                break
        if len(parts) == 1:
            return parts[0]
        return lambda d: any(p(d) for p in parts)

    def and_expr(self):
        parts = [self.not_expr()]
        while self.peek()[0] == "AND":
            self.take()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda d: all(p(d) for p in parts)

    def not_expr(self):
        if self.peek()[0] == "NOT":
            self.take()
            inner = self.not_expr()
            return lambda d: not inner(d)
        return self.primary()

    def primary(self):
        k, v = self.take()
        if k == "(":
            e = self.or_expr()
            if self.take()[0] != ")":
                raise LuceneError("missing ')'")
            return e
        if k == "FIELD":
            return self.field_clause(v)
        if k in ("WORD", "QUOTED"):
            m = _term_matcher(v, k == "QUOTED")
            return lambda d: any(m(x) for f in FREE_TEXT_FIELDS for x in d.values(f))
        if k is None:
            raise LuceneError("unexpected end of query")
        raise LuceneError("unexpected '%s'" % (v,))

    def field_clause(self, field):
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_.\-]*$", field):
            raise LuceneError("bad field name '%s'" % field)
        k, v = self.take()
        if field == "_exists_":
            if k != "WORD":
                raise LuceneError("_exists_ needs a field name")
            return lambda d: any(x is not None for x in d.values(v))
        if k in ("WORD", "QUOTED"):
            m = _term_matcher(v, k == "QUOTED")
        elif k == "RANGE":
            m = _range_matcher(*v)
        elif k == "(":
            # field:(a OR b): a list of alternatives
            alts = []
            while True:
                k2, v2 = self.take()
                if k2 == ")":
                    break
                if k2 in ("WORD", "QUOTED"):
                    alts.append(_term_matcher(v2, k2 == "QUOTED"))
                elif k2 == "OR":
                    continue
                else:
                    raise LuceneError("unsupported term in group")
            if not alts:
                raise LuceneError("empty group")
            m = lambda x: any(a(x) for a in alts)  # noqa: E731
        else:
            raise LuceneError("missing value for field '%s'" % field)
        return lambda d: any(m(x) for x in d.values(field))


def compile_query(text):
    return _Parser(_tokenize(text)).parse()


def values_at(obj, path):
    """Values found at a dotted path; arrays fan out."""
    cur = [obj]
    for part in path.split("."):
        nxt = []
        for c in cur:
            if isinstance(c, list):
                for item in c:
                    if isinstance(item, dict) and part in item:
                        nxt.append(item[part])
            elif isinstance(c, dict) and part in c:
                nxt.append(c[part])
        cur = nxt
        if not cur:
            return []
    out = []
    for c in cur:
        if isinstance(c, list):
            out.extend(c)
        else:
            out.append(c)
    return out
