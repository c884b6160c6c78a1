"""The Lucene subset (pure: no server)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_lucene import LuceneError, compile_query, values_at  # noqa: E402
from fake_testlib import check, eq, run  # noqa: E402


class Doc:
    def __init__(self, obj):
        self.obj = obj

    def values(self, path):
        return values_at(self.obj, path)


U1 = Doc({"user_id": "auth0|abc", "email": "jane.doe@example.com", "name": "Jane Doe", "blocked": True, "logins_count": 12,
          "identities": [{"connection": "db1"}, {"connection": "google-oauth2"}],
          "app_metadata": {"plan": {"tier": "gold"}, "tags": ["a", "b"]}, "user_metadata": {"lang": "fr"}})
U2 = Doc({"user_id": "google-oauth2|123", "email": "bob@example.org", "name": "Bob", "email_verified": False,
          "identities": [{"connection": "google-oauth2"}], "app_metadata": {"plan": {"tier": "silver"}}})


def m(q):
    f = compile_query(q)
    return [f(U1), f(U2)]


def test_terms():
    eq(m('email:"jane.doe@example.com"'), [True, False], "quoted")
    eq(m("email:JANE.DOE@EXAMPLE.COM"), [True, False], "case-insensitive")
    eq(m("email:jane*"), [True, False], "trailing wildcard")
    eq(m("email:*@example.org"), [False, True], "leading wildcard")
    eq(m('name:"Jane Doe"'), [True, False], "phrase")
    eq(m("user_id:auth0\\|abc"), [True, False], "escaped pipe")
    eq(m('user_id:"google-oauth2|123"'), [False, True], "quoted pipe")


def test_booleans_numbers_nested():
    eq(m("blocked:true"), [True, False], "bool")
    eq(m("email_verified:false"), [False, True], "false")
    eq(m("logins_count:12"), [True, False], "number")
    eq(m("logins_count:[10 TO 20]"), [True, False], "range")
    eq(m("logins_count:{12 TO *]"), [False, False], "exclusive lower bound")
    eq(m("identities.connection:google-oauth2"), [True, True], "array fan-out")
    eq(m("identities.connection:db1"), [True, False], "second identity")
    eq(m("app_metadata.plan.tier:gold"), [True, False], "nested")
    eq(m("app_metadata.tags:b"), [True, False], "array value")
    eq(m("_exists_:user_metadata"), [True, False], "_exists_")


def test_operators():
    eq(m("blocked:true OR email:bob*"), [True, True], "OR")
    eq(m("blocked:true AND email:bob*"), [False, False], "AND")
    eq(m("NOT blocked:true"), [False, True], "NOT")
    eq(m("-blocked:true"), [False, True], "leading minus")
    eq(m("(email:jane* OR email:bob*) AND NOT app_metadata.plan.tier:silver"), [True, False], "parentheses")
    eq(m("email:jane* email:bob*"), [True, True], "implicit OR")
    eq(m("app_metadata.plan.tier:(gold OR bronze)"), [True, False], "field group")
    eq(m("jane*"), [True, False], "bare term")
    eq(m("email:jane* && blocked:true"), [True, False], "&&")


def test_syntax_errors():
    for bad in ('email:"open', "(email:a", "email:a)", "AND", "email:", "[a TO b]x", ":x", "email:[a b]", ""):
        try:
            compile_query(bad)
        except LuceneError:
            continue
        raise AssertionError("accepted %r" % bad)
    check(True, "all refused")


run(globals())
