/*
 * Unit tests for pseudonym.c: the HMAC against RFC 4231, known answers for
 * a fixed key (so any change to the algorithm, which would orphan every
 * staging twin made before it, is noticed), determinism, key sensitivity,
 * the shapes' validity, and key loading.
 */
#include "harness.h"
#include "pseudonym.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct pseudonym_key *test_key(unsigned char first)
{
    unsigned char k[32];
    struct pseudonym_key *key = NULL;
    struct err e;
    int i;

    for (i = 0; i < 32; i++)
        k[i] = (unsigned char)(first + i);
    if (pseudonym_key_from_bytes(&key, k, sizeof(k), &e) < 0)
        fprintf(stderr, "test key: %s\n", e.msg);
    return key;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* RFC 4231 test cases 1, 3, 4 and 6 (7 bytes of key or more than 16 only:
 * shorter keys are refused by design). */
static void test_hmac_rfc4231(void)
{
    unsigned char key[131], data[64], out[32];
    struct pseudonym_key *k;
    char h[65];
    struct err e;
    int i;

    memset(key, 0x0b, 20);
    CHECK_INT(pseudonym_key_from_bytes(&k, key, 20, &e), 0);
    CHECK_INT(pseudonym_hmac(k, "Hi There", 8, out, &e), 0);
    hex(out, 32, h);
    CHECK_STR(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    pseudonym_key_free(k);

    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    CHECK_INT(pseudonym_key_from_bytes(&k, key, 20, &e), 0);
    CHECK_INT(pseudonym_hmac(k, data, 50, out, &e), 0);
    hex(out, 32, h);
    CHECK_STR(h, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    pseudonym_key_free(k);

    for (i = 0; i < 25; i++)
        key[i] = (unsigned char)(i + 1);
    memset(data, 0xcd, 50);
    CHECK_INT(pseudonym_key_from_bytes(&k, key, 25, &e), 0);
    CHECK_INT(pseudonym_hmac(k, data, 50, out, &e), 0);
    hex(out, 32, h);
    CHECK_STR(h, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    pseudonym_key_free(k);

    /* A key longer than the block is hashed first. */
    memset(key, 0xaa, 131);
    CHECK_INT(pseudonym_key_from_bytes(&k, key, 131, &e), 0);
    CHECK_INT(
        pseudonym_hmac(k, "Test Using Larger Than Block-Size Key - Hash Key First", 54, out, &e),
        0);
    hex(out, 32, h);
    CHECK_STR(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    pseudonym_key_free(k);
}

static const char *make(struct pseudonym_key *k, enum pseudonym_shape s, const char *in,
                        const struct pseudonym_opts *o, struct buf *b)
{
    struct err e;

    buf_reset(b);
    err_clear(&e);
    if (pseudonym_make(k, s, in, strlen(in), o, b, &e) < 0) {
        fprintf(stderr, "pseudonym_make('%s'): %s\n", in, e.msg);
        return "(error)";
    }
    return buf_str(b);
}

struct kat {
    enum pseudonym_shape shape;
    const char *in, *out;
};

/* Computed once with key bytes 00..1f and checked against an independent
 * Python implementation (hmac, base64 modules); see docs/privacy.md. */
static const struct kat kats[] = {
    {PSEUDONYM_EMAIL, "Jane.Doe@Corp.Example.org", "u-ct2umrg54rzrlk5d@example.com"},
    {PSEUDONYM_EMAIL, "  jane.doe@corp.example.ORG\n", "u-ct2umrg54rzrlk5d@example.com"},
    {PSEUDONYM_NAME, "Jane Doe", "Niall Ives"},
    {PSEUDONYM_NAME, "  jane   DOE ", "Niall Ives"},
    {PSEUDONYM_NAME, "Jane", "Merritt"},
    {PSEUDONYM_NAME, "jane.doe@corp.example.org", "u-ct2umrg54rzrlk5d@example.com"},
    {PSEUDONYM_USERNAME, "jdoe", "u2p37fhizkrcawb"},
    {PSEUDONYM_USERNAME, "JDoe", "u2p37fhizkrcawb"},
    {PSEUDONYM_NICKNAME, "jane.doe@corp.example.org", "u-ct2umrg54rzrlk5d"},
    {PSEUDONYM_NICKNAME, "Janie", "darby"},
    {PSEUDONYM_PHONE, "+1 (415) 555-0100", "+999527657395522"},
    {PSEUDONYM_PHONE, "+14155550100", "+999527657395522"},
    {PSEUDONYM_URL, "https://s.gravatar.com/avatar/x.png",
     "https://example.com/avatar/f84b3c6b99d9dd69bec80e64e44d87e7.png"},
    {PSEUDONYM_OPAQUE, "123-45-6789", "fda4ab1a29b66fa7678e25d9051c1f57"},
    {PSEUDONYM_OPAQUE, "", ""},
    {PSEUDONYM_EMAIL, "   ", ""},
};

static void test_known_answers(void)
{
    struct pseudonym_key *k = test_key(0);
    struct pseudonym_opts o;
    struct buf b;
    struct err e;
    size_t i;

    pseudonym_opts_init(&o);
    buf_init(&b, 4096);
    CHECK_STR(pseudonym_key_fingerprint(k), "837dc7e503f2a048");
    for (i = 0; i < sizeof(kats) / sizeof(kats[0]); i++)
        CHECK_STR(make(k, kats[i].shape, kats[i].in, &o, &b), kats[i].out);
    buf_reset(&b);
    CHECK_INT(pseudonym_hash(k, "123-45-6789", 11, &b, &e), 0);
    CHECK_STR(buf_str(&b), "9a1fa6b18f4eede8ced9e78582e52e478c428e43738b6d0b8dc78955bce0bba8");
    /* hash takes the input exactly as given */
    buf_reset(&b);
    CHECK_INT(pseudonym_hash(k, " 123-45-6789", 12, &b, &e), 0);
    CHECK(strcmp(buf_str(&b), "9a1fa6b18f4eede8ced9e78582e52e478c428e43738b6d0b8dc78955bce0bba8"));
    buf_reset(&b);
    CHECK_INT(pseudonym_email(k, "Jane.Doe@Corp.Example.org", "staging.example", false, &b, &e), 0);
    CHECK_STR(buf_str(&b), "u-ct2umrg54rzrlk5d@staging.example");
    buf_release(&b);
    pseudonym_key_free(k);
}

/* Two keys loaded separately (and a copy) give the same pseudonyms; a
 * different key gives different ones, in every shape. */
static void test_determinism_and_key_sensitivity(void)
{
    struct pseudonym_key *a = test_key(0), *b = test_key(0), *c = test_key(1), *d = NULL;
    static const enum pseudonym_shape shapes[] = {
        PSEUDONYM_EMAIL, PSEUDONYM_NAME, PSEUDONYM_USERNAME, PSEUDONYM_NICKNAME,
        PSEUDONYM_PHONE, PSEUDONYM_URL,  PSEUDONYM_OPAQUE};
    struct pseudonym_opts o;
    struct buf x, y, z, w;
    struct err e;
    size_t i;
    int differ_names = 0;

    pseudonym_opts_init(&o);
    buf_init(&x, 4096);
    buf_init(&y, 4096);
    buf_init(&z, 4096);
    buf_init(&w, 4096);
    CHECK_INT(pseudonym_key_dup(&d, a, &e), 0);
    CHECK_STR(pseudonym_key_fingerprint(a), pseudonym_key_fingerprint(b));
    CHECK_STR(pseudonym_key_fingerprint(a), pseudonym_key_fingerprint(d));
    CHECK(strcmp(pseudonym_key_fingerprint(a), pseudonym_key_fingerprint(c)) != 0);
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        const char *in = "Alice Example <alice@example.org>";
        make(a, shapes[i], in, &o, &x);
        make(b, shapes[i], in, &o, &y);
        make(d, shapes[i], in, &o, &w);
        make(c, shapes[i], in, &o, &z);
        CHECK_STR(buf_str(&x), buf_str(&y));
        CHECK_STR(buf_str(&x), buf_str(&w));
        if (shapes[i] == PSEUDONYM_NAME || shapes[i] == PSEUDONYM_NICKNAME)
            differ_names += strcmp(buf_str(&x), buf_str(&z)) != 0;
        else
            CHECK(strcmp(buf_str(&x), buf_str(&z)) != 0);
        /* a pseudonym is not the input */
        CHECK(strstr(buf_str(&x), "alice") == NULL);
    }
    /* Names come from 256 words, so one pair may collide by chance; both
     * colliding would mean the key is ignored. */
    CHECK(differ_names >= 1);
    buf_release(&x);
    buf_release(&y);
    buf_release(&z);
    buf_release(&w);
    pseudonym_key_free(a);
    pseudonym_key_free(b);
    pseudonym_key_free(c);
    pseudonym_key_free(d);
}

/* Mirrors the "email" format of JSON-schema validators (ajv-formats, full
 * mode): dot-atoms of RFC 5322 atext, '@', host labels of letters, digits
 * and inner hyphens (1-63), at least two labels. */
static bool valid_email(const char *s)
{
    static const char atext[] = "!#$%&'*+/=?^_`{|}~-";
    const char *at = strrchr(s, '@'), *p;
    size_t label = 0, labels = 0;
    bool prev_dot = true;

    if (!at || at == s || strlen(s) > 254)
        return false;
    for (p = s; p < at; p++) {
        if (*p == '.') {
            if (prev_dot)
                return false;
            prev_dot = true;
            continue;
        }
        if (!isalnum((unsigned char)*p) && !strchr(atext, *p))
            return false;
        prev_dot = false;
    }
    if (prev_dot)
        return false;
    for (p = at + 1;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63 || p[-1] == '-' || p[-(long)label] == '-')
                return false;
            labels++;
            label = 0;
            if (!*p)
                break;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '-')
            return false;
        label++;
    }
    return labels >= 2;
}

/* ^[A-Za-z0-9_+\-.!#$^`~@']{1,128}$ */
static bool valid_username(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > 128)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_+-.!#$^`~@'", *s))
            return false;
    return true;
}

/* ^\+[1-9][0-9]{6,14}$ */
static bool valid_phone(const char *s)
{
    size_t n = strlen(s), i;

    if (n < 8 || n > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9')
        return false;
    for (i = 1; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static void test_validators_themselves(void)
{
    CHECK(valid_email("u-abc@example.com"));
    CHECK(valid_email("a.b+c@x.example"));
    CHECK(!valid_email("a@b"));
    CHECK(!valid_email("a..b@example.com"));
    CHECK(!valid_email(".a@example.com"));
    CHECK(!valid_email("a@-x.com"));
    CHECK(!valid_email("a b@example.com"));
    CHECK(!valid_email("@example.com"));
    CHECK(valid_username("u_a.b-c"));
    CHECK(!valid_username("a b"));
    CHECK(!valid_username(""));
    CHECK(valid_phone("+999123456789012"));
    CHECK(!valid_phone("+0999123"));
    CHECK(!valid_phone("+9991234567890123"));
    CHECK(!valid_phone("999123456"));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Many inputs: every output has its shape, and emails and usernames do not
 * collide. */
static void test_shapes_valid(void)
{
    enum { N = 3000 };
    struct pseudonym_key *k = test_key(7);
    struct pseudonym_opts o, keep;
    static char *emails[N], *users[N];
    char in[128];
    struct buf b;
    size_t i, bad = 0, dups = 0;

    pseudonym_opts_init(&o);
    keep = o;
    keep.keep_email_domain = true;
    buf_init(&b, 4096);
    for (i = 0; i < N; i++) {
        const char *s;
        snprintf(in, sizeof(in), "Person.%zu+tag@Mail%zu.Corp-Example.org", i, i % 7);
        s = make(k, PSEUDONYM_EMAIL, in, &o, &b);
        bad += !valid_email(s) || strncmp(s, "u-", 2) != 0 || strlen(s) != 30 ||
               strcmp(s + 18, "@example.com") != 0;
        emails[i] = strdup(s);
        s = make(k, PSEUDONYM_EMAIL, in, &keep, &b);
        bad += !valid_email(s) || strstr(s, "corp-example.org") == NULL;
        s = make(k, PSEUDONYM_NICKNAME, in, &o, &b);
        bad += strncmp(s, emails[i], strlen(s)) != 0 || emails[i][strlen(s)] != '@';
        s = make(k, PSEUDONYM_USERNAME, in, &o, &b);
        bad += !valid_username(s) || strlen(s) != 15;
        users[i] = strdup(s);
        s = make(k, PSEUDONYM_PHONE, in, &o, &b);
        bad += !valid_phone(s) || strlen(s) != 16 || strncmp(s, "+999", 4) != 0;
        s = make(k, PSEUDONYM_URL, in, &o, &b);
        bad += strncmp(s, "https://example.com/avatar/", 27) != 0 || strlen(s) != 27 + 32 + 4;
        s = make(k, PSEUDONYM_OPAQUE, in, &o, &b);
        bad += strlen(s) != 32 || strspn(s, "0123456789abcdef") != 32;
        snprintf(in, sizeof(in), "First%zu Middle Last%zu Extra", i, i);
        s = make(k, PSEUDONYM_NAME, in, &o, &b);
        /* three words at most, each capitalised */
        bad += !isupper((unsigned char)s[0]) || strchr(s, ' ') == NULL ||
               strchr(strchr(strchr(s, ' ') + 1, ' ') + 1, ' ') != NULL;
    }
    CHECK_INT(bad, 0);
    qsort(emails, N, sizeof(char *), cmp_str);
    qsort(users, N, sizeof(char *), cmp_str);
    for (i = 1; i < N; i++) {
        dups += strcmp(emails[i - 1], emails[i]) == 0;
        dups += strcmp(users[i - 1], users[i]) == 0;
    }
    CHECK_INT(dups, 0);
    for (i = 0; i < N; i++) {
        free(emails[i]);
        free(users[i]);
    }
    buf_release(&b);
    pseudonym_key_free(k);
}

static void test_shape_options(void)
{
    struct pseudonym_key *k = test_key(0);
    struct pseudonym_opts o;
    struct buf b;
    struct err e;
    const char *s;

    pseudonym_opts_init(&o);
    buf_init(&b, 4096);
    o.username_length = 52;
    s = make(k, PSEUDONYM_USERNAME, "jdoe", &o, &b);
    CHECK_INT(strlen(s), 52);
    CHECK(strncmp(s, "u2p37fhizkrcawb", 15) == 0); /* longer, same prefix */
    o.username_length = 11;
    buf_reset(&b);
    CHECK_INT(pseudonym_make(k, PSEUDONYM_USERNAME, "jdoe", 4, &o, &b, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    pseudonym_opts_init(&o);
    o.phone_prefix = "+1";
    s = make(k, PSEUDONYM_PHONE, "+14155550100", &o, &b);
    CHECK(valid_phone(s));
    CHECK_INT(strlen(s), 16);
    o.phone_prefix = "+999123";
    CHECK_INT(strlen(make(k, PSEUDONYM_PHONE, "+14155550100", &o, &b)), 16);
    /* keep_email_domain falls back when the input has no usable domain */
    pseudonym_opts_init(&o);
    o.keep_email_domain = true;
    s = make(k, PSEUDONYM_EMAIL, "not-an-email", &o, &b);
    CHECK(strstr(s, "@example.com") != NULL);
    s = make(k, PSEUDONYM_EMAIL, "x@10.0.0.1", &o, &b);
    CHECK(strstr(s, "@example.com") != NULL);
    /* name shapes: word counts follow the input, up to three */
    pseudonym_opts_init(&o);
    s = make(k, PSEUDONYM_NAME, "Mary Ann Smith Jones", &o, &b);
    CHECK(strchr(s, ' ') && strchr(strchr(s, ' ') + 1, ' ') && !strchr(strrchr(s, ' ') + 1, ' '));
    s = make(k, PSEUDONYM_NICKNAME, "Big Bad Wolf", &o, &b);
    CHECK(strchr(s, '.') && !strchr(strchr(s, '.') + 1, '.'));
    CHECK(!strpbrk(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ "));
    /* a failed call leaves the buffer as it was */
    buf_reset(&b);
    buf_appends(&b, "keep", &e);
    o.username_length = 99;
    CHECK_INT(pseudonym_make(k, PSEUDONYM_USERNAME, "x", 1, &o, &b, &e), -1);
    CHECK_STR(buf_str(&b), "keep");
    buf_release(&b);
    pseudonym_key_free(k);
}

static void test_names_and_checks(void)
{
    enum pseudonym_shape s;
    struct buf b;
    struct err e;

    CHECK(pseudonym_shape_from_name("phone", &s) && s == PSEUDONYM_PHONE);
    CHECK(!pseudonym_shape_from_name("ssn", &s));
    CHECK_STR(pseudonym_shape_name(PSEUDONYM_NICKNAME), "nickname");
    CHECK(pseudonym_valid_domain("example.com"));
    CHECK(pseudonym_valid_domain("staging.example"));
    CHECK(pseudonym_valid_domain("a-b.example.net"));
    CHECK(!pseudonym_valid_domain("example"));
    CHECK(!pseudonym_valid_domain("-a.example.com"));
    CHECK(!pseudonym_valid_domain("a-.example.com"));
    CHECK(!pseudonym_valid_domain("a..com"));
    CHECK(!pseudonym_valid_domain("10.0.0.1"));
    CHECK(!pseudonym_valid_domain("ex ample.com"));
    CHECK(pseudonym_valid_phone_prefix("+999"));
    CHECK(!pseudonym_valid_phone_prefix("999"));
    CHECK(!pseudonym_valid_phone_prefix("+0"));
    CHECK(!pseudonym_valid_phone_prefix("+1234567"));
    CHECK(pseudonym_valid_url_prefix("https://example.com/a/"));
    CHECK(!pseudonym_valid_url_prefix("ftp://example.com/"));
    CHECK(!pseudonym_valid_url_prefix("https://example.com/\"x"));
    CHECK(pseudonym_looks_like_email("a@b.c", 5));
    CHECK(!pseudonym_looks_like_email("@b.c", 4));
    CHECK(!pseudonym_looks_like_email("a@b", 3));
    CHECK(!pseudonym_looks_like_email("a@b@c.d", 7));
    CHECK(!pseudonym_looks_like_email("a b@c.d", 7));
    buf_init(&b, 256);
    CHECK_INT(pseudonym_normalize(PSEUDONYM_PHONE, " +44 (20) 7946-0000 ", 20, &b, &e), 0);
    CHECK_STR(buf_str(&b), "+442079460000");
    buf_release(&b);
}

/* True if a word (a run of letters and digits, at least min long) of value
 * is a word of pseudo (equal) or appears inside pseudo (!equal); no case. */
static bool holds_word(const char *value, const char *pseudo, size_t min, bool equal)
{
    char v[512], p[512], *save = NULL, *w;

    snprintf(v, sizeof(v), "%s", value);
    snprintf(p, sizeof(p), "%s", pseudo);
    for (char *c = v; *c; c++)
        *c = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : ' ';
    for (char *c = p; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (w = strtok_r(v, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (strlen(w) < min)
            continue;
        if (!equal && strstr(p, w))
            return true;
        if (equal) {
            char q[512], *s2 = NULL, *x;
            snprintf(q, sizeof(q), "%s", p);
            for (char *c = q; *c; c++)
                if (!isalnum((unsigned char)*c))
                    *c = ' ';
            for (x = strtok_r(q, " ", &s2); x; x = strtok_r(NULL, " ", &s2))
                if (strcmp(x, w) == 0)
                    return true;
        }
    }
    return false;
}

/* A pseudonym never holds a word of the value it replaces. Names are made
 * of the pseudonym word list itself (other names' pseudonyms): without the
 * rule 1,193 of these 40,000 names and nicknames gave a word back; tokens
 * (emails, usernames) of values whose words are short letter runs held one
 * 38 times in 40,000. */
static void test_no_word_of_the_value(void)
{
    struct pseudonym_key *k = test_key(7);
    struct pseudonym_opts o;
    struct buf b, name;
    char email[128];
    int names = 0, tokens = 0;

    pseudonym_opts_init(&o);
    buf_init(&b, 4096);
    buf_init(&name, 4096);
    for (int i = 0; k && i < 20000; i++) {
        char seed[32];
        snprintf(seed, sizeof(seed), "person %d of many", i);
        /* a real-looking name: three pseudonym words */
        buf_reset(&name);
        buf_appends(&name, make(k, PSEUDONYM_NAME, seed, &o, &b), NULL);
        make(k, PSEUDONYM_NAME, buf_str(&name), &o, &b);
        names += holds_word(buf_str(&name), buf_str(&b), 1, true);
        make(k, PSEUDONYM_NICKNAME, buf_str(&name), &o, &b);
        names += holds_word(buf_str(&name), buf_str(&b), 1, true);
        /* an email of short letter runs, as the base32 digits are */
        snprintf(email, sizeof(email), "%c%c%c.%c%c%c%c@%c%c%c.example", 'a' + i % 26,
                 'a' + i / 26 % 26, 'a' + i / 676 % 26, 'a' + (i * 7) % 26, 'b' + (i * 3) % 25,
                 'a' + (i * 11) % 26, 'c' + i % 24, 'a' + (i * 5) % 26, 'a' + (i * 13) % 26,
                 'a' + (i * 17) % 26);
        /* the local part: the domain is the policy's, not derived */
        make(k, PSEUDONYM_EMAIL, email, &o, &b);
        *strchr(buf_str(&b), '@') = '\0';
        tokens += holds_word(email, buf_str(&b), 3, false);
        make(k, PSEUDONYM_USERNAME, email, &o, &b);
        tokens += holds_word(email, buf_str(&b) + 1, 3, false);
    }
    CHECK_INT(names, 0);
    CHECK_INT(tokens, 0);
    /* the rule keeps pseudonyms repeatable */
    CHECK_STR(make(k, PSEUDONYM_NAME, "Harper Blake Ellis", &o, &b),
              make(k, PSEUDONYM_NAME, "harper  blake ellis", &o, &name));
    buf_release(&b);
    buf_release(&name);
    pseudonym_key_free(k);
}

static void test_input_limits(void)
{
    struct pseudonym_key *k = test_key(0);
    struct pseudonym_opts o;
    char *big = malloc(PSEUDONYM_INPUT_MAX + 1);
    struct buf b;
    struct err e;

    pseudonym_opts_init(&o);
    buf_init(&b, 4096);
    memset(big, 'a', PSEUDONYM_INPUT_MAX + 1);
    CHECK_INT(pseudonym_make(k, PSEUDONYM_OPAQUE, big, PSEUDONYM_INPUT_MAX + 1, &o, &b, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "too long") != NULL);
    CHECK_INT(pseudonym_make(k, PSEUDONYM_OPAQUE, big, PSEUDONYM_INPUT_MAX, &o, &b, &e), 0);
    CHECK_INT(b.len, 32);
    free(big);
    buf_release(&b);
    pseudonym_key_free(k);
}

static const char key_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void test_key_text_and_env(void)
{
    struct pseudonym_key *k = NULL;
    struct err e;

    /* hex text decodes to the same key as the bytes */
    CHECK_INT(pseudonym_key_from_text(&k, key_hex, strlen(key_hex), "test", &e), 0);
    CHECK_STR(k ? pseudonym_key_fingerprint(k) : "", "837dc7e503f2a048");
    pseudonym_key_free(k);
    /* 31 characters: refused, and the message holds no key material */
    CHECK_INT(pseudonym_key_from_text(&k, "0123456789abcdef0123456789abcde", 31, "test", &e), -1);
    CHECK(k == NULL);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "too short") != NULL);
    CHECK(strstr(e.msg, "0123456789") == NULL);
    /* a passphrase is used as raw bytes */
    CHECK_INT(pseudonym_key_from_text(&k, "correct horse battery staple, twice", 35, "t", &e), 0);
    CHECK(k && strcmp(pseudonym_key_fingerprint(k), "837dc7e503f2a048") != 0);
    pseudonym_key_free(k);
    CHECK_INT(pseudonym_key_from_bytes(&k, "short", 5, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);

    unsetenv(PSEUDONYM_KEY_ENV);
    CHECK_INT(pseudonym_key_from_env(&k, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, PSEUDONYM_KEY_ENV) != NULL);
    setenv(PSEUDONYM_KEY_ENV, "tooshort", 1);
    CHECK_INT(pseudonym_key_from_env(&k, &e), -1);
    CHECK(strstr(e.msg, "too short") != NULL);
    CHECK(strstr(e.msg, "tooshort") == NULL);
    setenv(PSEUDONYM_KEY_ENV, key_hex, 1);
    CHECK_INT(pseudonym_key_from_env(&k, &e), 0);
    CHECK_STR(k ? pseudonym_key_fingerprint(k) : "", "837dc7e503f2a048");
    pseudonym_key_free(k);
    unsetenv(PSEUDONYM_KEY_ENV);
    pseudonym_key_free(NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    if (write(fd, text, strlen(text)) < 0)
        perror("write");
    close(fd);
    chmod(path, mode);
}

static void test_key_file(void)
{
    char dir[] = "/tmp/test_pseudonym.XXXXXX", path[256];
    struct pseudonym_key *k = NULL;
    struct err e;
    char text[128];

    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    snprintf(path, sizeof(path), "%s/key", dir);
    snprintf(text, sizeof(text), "%s\n", key_hex);

    write_file(path, text, 0600);
    CHECK_INT(pseudonym_key_from_file(&k, path, &e), 0);
    CHECK_STR(k ? pseudonym_key_fingerprint(k) : "", "837dc7e503f2a048");
    pseudonym_key_free(k);
    write_file(path, text, 0400);
    CHECK_INT(pseudonym_key_from_file(&k, path, &e), 0);
    pseudonym_key_free(k);

    write_file(path, text, 0644);
    CHECK_INT(pseudonym_key_from_file(&k, path, &e), -1);
    CHECK(k == NULL);
    CHECK_INT(e.code, ERR_REFUSED);
    CHECK(strstr(e.msg, "0644") != NULL);
    CHECK(strstr(e.msg, "000102") == NULL);
    write_file(path, text, 0620);
    CHECK_INT(pseudonym_key_from_file(&k, path, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    write_file(path, text, 0604);
    CHECK_INT(pseudonym_key_from_file(&k, path, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);

    write_file(path, "0011223344\n", 0600);
    CHECK_INT(pseudonym_key_from_file(&k, path, &e), -1);
    CHECK_INT(e.code, ERR_USAGE);
    CHECK(strstr(e.msg, "too short") != NULL);

    CHECK_INT(pseudonym_key_from_file(&k, dir, &e), -1);
    CHECK_INT(e.code, ERR_REFUSED);
    unlink(path);
    CHECK_INT(pseudonym_key_from_file(&k, path, &e), -1);
    CHECK_INT(e.code, ERR_USAGE); /* the file the user named is not there */
    rmdir(dir);
}

int main(void)
{
    RUN(test_hmac_rfc4231);
    RUN(test_known_answers);
    RUN(test_determinism_and_key_sensitivity);
    RUN(test_validators_themselves);
    RUN(test_shapes_valid);
    RUN(test_shape_options);
    RUN(test_names_and_checks);
    RUN(test_no_word_of_the_value);
    RUN(test_input_limits);
    RUN(test_key_text_and_env);
    RUN(test_key_file);
    return harness_done();
}
