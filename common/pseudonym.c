/*
 * pseudonym.c - see pseudonym.h.
 *
 * Speed matters: the default policy computes about five pseudonyms per user
 * and an export may hold millions of users. HMAC's two keyed prefixes
 * (key ^ ipad, key ^ opad) are hashed once when the key is loaded; each
 * pseudonym then copies those states into one scratch context, which costs
 * two SHA-256 compressions for a short input and no allocation. That is the
 * textbook HMAC (RFC 2104), checked against RFC 4231 in the unit tests.
 *
 * Bits are taken from the front of the HMAC output: base32 for emails and
 * usernames (lower case, RFC 4648 alphabet, valid in both), hex for URLs
 * and opaque values, one byte per word for names, a big-endian integer
 * reduced modulo 10^d for phone digits (the bias, below 2^-17, does not
 * matter for a pseudonym).
 */
#include "pseudonym.h"

#include "fsutil.h"
#include "jsonutil.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define HMAC_BLOCK 64
#define HMAC_LEN   32

#define TAG_EMAIL       "a0snap/v1/email"
#define TAG_NAME        "a0snap/v1/name"
#define TAG_USERNAME    "a0snap/v1/username"
#define TAG_PHONE       "a0snap/v1/phone"
#define TAG_URL         "a0snap/v1/url"
#define TAG_OPAQUE      "a0snap/v1/opaque"
#define TAG_HASH        "a0snap/v1/hash"
#define TAG_FINGERPRINT "a0snap/v1/fingerprint"
#define FP_CONTEXT      "a0snap-key-fingerprint-v1"

#define EMAIL_LOCAL_DIGITS 16 /* base32 digits: 80 bits */
#define OPAQUE_BYTES       16 /* 128 bits, 32 hex digits */
#define E164_DIGITS        15
#define NAME_MAX_WORDS     3

struct pseudonym_key {
    EVP_MD_CTX *inner;        /* SHA-256 state after (key ^ ipad); never changed after setup */
    EVP_MD_CTX *outer;        /* SHA-256 state after (key ^ opad) */
    EVP_MD_CTX *work;         /* scratch */
    struct buf norm;          /* scratch for normalised input */
    struct buf memo;          /* the last email hashed, and its HMAC: a user's nickname */
    unsigned char memo_h[32]; /* is derived from the email just pseudonymised */
    char fingerprint[PSEUDONYM_FINGERPRINT_LEN + 1];
};

/* 256 name-like words, one per byte value: neutral enough to work as a
 * given name or a family name, so a one-word field reads naturally. */
static const char *const name_words[256] = {
    "Abbot",    "Acker",   "Adair",   "Ainsley", "Alder",   "Alma",     "Amory",   "Ansel",
    "Arden",    "Ardis",   "Arlo",    "Ashby",   "Astor",   "Auden",    "Avery",   "Axton",
    "Bailey",   "Barlow",  "Baxter",  "Beck",    "Bellamy", "Bentley",  "Berg",    "Blair",
    "Blake",    "Bodie",   "Bowen",   "Bram",    "Brant",   "Brecken",  "Brook",   "Burke",
    "Cade",     "Calder",  "Callis",  "Camden",  "Carver",  "Casey",    "Cato",    "Cedar",
    "Chandler", "Clement", "Colby",   "Corin",   "Crane",   "Cullen",   "Cyra",    "Dace",
    "Dale",     "Dalton",  "Darby",   "Darrow",  "Davin",   "Delaney",  "Denby",   "Devlin",
    "Dorian",   "Drake",   "Dune",    "Eames",   "Easton",  "Eden",     "Edris",   "Elan",
    "Ellery",   "Ellis",   "Elwin",   "Emery",   "Ender",   "Esme",     "Evander", "Everly",
    "Fallon",   "Farley",  "Fenn",    "Finch",   "Flint",   "Forde",    "Fox",     "Frey",
    "Gale",     "Garnet",  "Garrick", "Gideon",  "Glen",    "Greer",    "Griffin", "Hale",
    "Halsey",   "Harlow",  "Harper",  "Haskel",  "Hayden",  "Hollis",   "Holt",    "Idris",
    "Ines",     "Ingram",  "Ira",     "Irving",  "Isla",    "Ives",     "Jarvis",  "Jensen",
    "Jory",     "Juno",    "Kade",    "Keaton",  "Keegan",  "Kell",     "Kendal",  "Kerr",
    "Kestrel",  "Kit",     "Lachlan", "Lane",    "Larkin",  "Leith",    "Lennox",  "Linden",
    "Lisle",    "Loring",  "Lowell",  "Lyle",    "Mabry",   "Maddox",   "Marlow",  "Mercer",
    "Merritt",  "Milo",    "Monroe",  "Morrow",  "Nash",    "Neve",     "Niall",   "Noor",
    "Norris",   "Oakley",  "Odell",   "Olin",    "Orla",    "Orson",    "Osric",   "Oswin",
    "Paige",    "Parrish", "Pell",    "Percy",   "Perrin",  "Piper",    "Quill",   "Quincy",
    "Quinn",    "Radley",  "Rainer",  "Ramsey",  "Reade",   "Reeve",    "Remy",    "Rhett",
    "Riley",    "Roan",    "Rowan",   "Royce",   "Rune",    "Sable",    "Sage",    "Sawyer",
    "Selby",    "Shea",    "Sloane",  "Soren",   "Stellan", "Sutton",   "Tait",    "Talbot",
    "Tamsin",   "Tate",    "Teague",  "Thane",   "Thorne",  "Tobin",    "Torin",   "Tristan",
    "Tully",    "Ulric",   "Upton",   "Vance",   "Vesper",  "Wade",     "Warner",  "Waverly",
    "Wells",    "Wilder",  "Winslow", "Wren",    "Wynn",    "Yale",     "Yates",   "York",
    "Zane",     "Zephyr",  "Zora",    "Ashton",  "Brier",   "Corwin",   "Dell",    "Ember",
    "Fenwick",  "Galen",   "Hadley",  "Ivor",    "Jasper",  "Kenna",    "Lark",    "Maren",
    "Nolan",    "Oren",    "Perry",   "Rhys",    "Sella",   "Tarn",     "Una",     "Vale",
    "Wilde",    "Yara",    "Bryn",    "Caius",   "Dara",    "Elowen",   "Fable",   "Gwyn",
    "Hollin",   "Iona",    "Jem",     "Kiran",   "Lior",    "Mira",     "Nell",    "Onslow",
    "Pim",      "Rook",    "Sten",    "Teodor",  "Ugo",     "Vega",     "Willa",   "Xan",
    "Yael",     "Zuri",    "Aster",   "Bexley",  "Coral",   "Dashiell", "Elspeth", "Faro",
};

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char hex_digits[] = "0123456789abcdef";

void pseudonym_key_free(struct pseudonym_key *k)
{
    if (!k)
        return;
    /* EVP_MD_CTX_free() wipes the digest state (it holds the keyed prefix). */
    EVP_MD_CTX_free(k->inner);
    EVP_MD_CTX_free(k->outer);
    EVP_MD_CTX_free(k->work);
    if (k->norm.data)
        OPENSSL_cleanse(k->norm.data, k->norm.cap);
    buf_release(&k->norm);
    if (k->memo.data)
        OPENSSL_cleanse(k->memo.data, k->memo.cap);
    buf_release(&k->memo);
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

static struct pseudonym_key *key_alloc(void)
{
    struct pseudonym_key *k = calloc(1, sizeof(*k));

    if (!k)
        return NULL;
    buf_init(&k->norm, PSEUDONYM_INPUT_MAX + 64);
    buf_init(&k->memo, 1024);
    k->inner = EVP_MD_CTX_new();
    k->outer = EVP_MD_CTX_new();
    k->work = EVP_MD_CTX_new();
    if (!k->inner || !k->outer || !k->work) {
        pseudonym_key_free(k);
        return NULL;
    }
    return k;
}

/* HMAC over the concatenation a || b (either may be empty). */
static int hmac2(struct pseudonym_key *k, const void *a, size_t alen, const void *b, size_t blen,
                 unsigned char out[HMAC_LEN], struct err *e)
{
    unsigned char ih[HMAC_LEN];
    unsigned int n;

    if (!EVP_MD_CTX_copy_ex(k->work, k->inner) || !EVP_DigestUpdate(k->work, a, alen) ||
        !EVP_DigestUpdate(k->work, b, blen) || !EVP_DigestFinal_ex(k->work, ih, &n) ||
        !EVP_MD_CTX_copy_ex(k->work, k->outer) || !EVP_DigestUpdate(k->work, ih, sizeof(ih)) ||
        !EVP_DigestFinal_ex(k->work, out, &n))
        return err_set(e, ERR_INTERNAL, "HMAC-SHA256 failed");
    return 0;
}

int pseudonym_hmac(struct pseudonym_key *k, const void *msg, size_t len, unsigned char out[32],
                   struct err *e)
{
    return hmac2(k, msg, len, "", 0, out, e);
}

/* HMAC(key, tag || 0x00 || in). */
static int tagged(struct pseudonym_key *k, const char *tag, const void *in, size_t len,
                  unsigned char out[HMAC_LEN], struct err *e)
{
    return hmac2(k, tag, strlen(tag) + 1, in, len, out, e);
}

/* --- a pseudonym holds no word of the value it replaces ------------------ */

/* Words of a value are its runs of letters and digits (bytes of multibyte
 * UTF-8 characters count as letters); compared without case. */
static bool word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* ASCII lower case; other bytes unchanged (as strncasecmp in the C
 * locale, without a call per byte). */
static unsigned char lower_ascii(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static bool equal_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower_ascii((unsigned char)a[i]) != lower_ascii((unsigned char)b[i]))
            return false;
    return true;
}

/* Case-insensitive memmem. Words hold no NUL byte, so comparing n bytes
 * is what strncasecmp did. */
static bool memmem_nocase(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    unsigned char first;

    if (!nlen || nlen > hlen)
        return false;
    first = lower_ascii((unsigned char)needle[0]);
    for (size_t i = 0; i + nlen <= hlen; i++)
        if (lower_ascii((unsigned char)hay[i]) == first && equal_nocase(hay + i, needle, nlen))
            return true;
    return false;
}

/* True if some word of value (at least min bytes long) equals w (equal),
 * or appears anywhere inside w (!equal). */
static bool shares_word(const char *value, size_t len, const char *w, size_t wlen, size_t min,
                        bool equal)
{
    size_t i = 0;

    while (i < len) {
        size_t start, n;
        while (i < len && !word_byte((unsigned char)value[i]))
            i++;
        start = i;
        while (i < len && word_byte((unsigned char)value[i]))
            i++;
        n = i - start;
        if (n < min || n > wlen)
            continue;
        if (equal ? n == wlen && equal_nocase(value + start, w, n)
                  : memmem_nocase(w, wlen, value + start, n))
            return true;
    }
    return false;
}

static int key_fingerprint(struct pseudonym_key *k, struct err *e)
{
    unsigned char h[HMAC_LEN], d[EVP_MAX_MD_SIZE];
    unsigned int n;
    int i;

    if (tagged(k, TAG_FINGERPRINT, "", 0, h, e) < 0)
        return -1;
    if (!EVP_DigestInit_ex(k->work, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(k->work, FP_CONTEXT, strlen(FP_CONTEXT)) ||
        !EVP_DigestUpdate(k->work, h, sizeof(h)) || !EVP_DigestFinal_ex(k->work, d, &n))
        return err_set(e, ERR_INTERNAL, "SHA-256 failed");
    for (i = 0; i < PSEUDONYM_FINGERPRINT_LEN / 2; i++) {
        k->fingerprint[2 * i] = hex_digits[d[i] >> 4];
        k->fingerprint[2 * i + 1] = hex_digits[d[i] & 15];
    }
    k->fingerprint[PSEUDONYM_FINGERPRINT_LEN] = '\0';
    OPENSSL_cleanse(h, sizeof(h));
    return 0;
}

int pseudonym_key_from_bytes(struct pseudonym_key **out, const void *key, size_t len, struct err *e)
{
    unsigned char block[HMAC_BLOCK], pad[HMAC_BLOCK];
    const EVP_MD *md = EVP_sha256();
    struct pseudonym_key *k = NULL;
    unsigned int n;
    int rc = -1, i;

    *out = NULL;
    if (len < PSEUDONYM_KEY_MIN_BYTES)
        return err_set(e, ERR_USAGE, "pseudonym key too short: %zu bytes, at least %d needed", len,
                       PSEUDONYM_KEY_MIN_BYTES);
    k = key_alloc();
    if (!k)
        return err_oom(e);
    memset(block, 0, sizeof(block));
    if (len > HMAC_BLOCK) {
        /* RFC 2104: a key longer than the block is hashed first. */
        if (!EVP_Digest(key, len, block, &n, md, NULL)) {
            err_set(e, ERR_INTERNAL, "SHA-256 failed");
            goto out;
        }
    } else {
        memcpy(block, key, len);
    }
    for (i = 0; i < HMAC_BLOCK; i++)
        pad[i] = block[i] ^ 0x36;
    if (!EVP_DigestInit_ex(k->inner, md, NULL) || !EVP_DigestUpdate(k->inner, pad, sizeof(pad))) {
        err_set(e, ERR_INTERNAL, "SHA-256 failed");
        goto out;
    }
    for (i = 0; i < HMAC_BLOCK; i++)
        pad[i] = block[i] ^ 0x5c;
    if (!EVP_DigestInit_ex(k->outer, md, NULL) || !EVP_DigestUpdate(k->outer, pad, sizeof(pad))) {
        err_set(e, ERR_INTERNAL, "SHA-256 failed");
        goto out;
    }
    if (key_fingerprint(k, e) < 0)
        goto out;
    *out = k;
    k = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
    pseudonym_key_free(k);
    return rc;
}

int pseudonym_key_dup(struct pseudonym_key **out, const struct pseudonym_key *k, struct err *e)
{
    struct pseudonym_key *d;

    *out = NULL;
    d = key_alloc();
    if (!d)
        return err_oom(e);
    if (!EVP_MD_CTX_copy_ex(d->inner, k->inner) || !EVP_MD_CTX_copy_ex(d->outer, k->outer)) {
        pseudonym_key_free(d);
        return err_set(e, ERR_INTERNAL, "cannot copy the pseudonym key state");
    }
    memcpy(d->fingerprint, k->fingerprint, sizeof(d->fingerprint));
    *out = d;
    return 0;
}

int pseudonym_key_from_text(struct pseudonym_key **out, const char *text, size_t len,
                            const char *origin, struct err *e)
{
    unsigned char bytes[PSEUDONYM_KEY_FILE_MAX / 2];
    bool all_hex = true;
    size_t i;
    int rc;

    *out = NULL;
    while (len && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    if (len < PSEUDONYM_KEY_MIN_CHARS)
        return err_set(e, ERR_USAGE,
                       "pseudonym key from %s is too short: %zu characters, at least %d needed "
                       "(make one with 'openssl rand -hex 32')",
                       origin, len, PSEUDONYM_KEY_MIN_CHARS);
    for (i = 0; i < len && all_hex; i++)
        all_hex = hex_digit_value((unsigned char)text[i]) >= 0;
    if (!all_hex || len % 2 != 0 || len / 2 > sizeof(bytes))
        return pseudonym_key_from_bytes(out, text, len, e);
    for (i = 0; i < len / 2; i++)
        bytes[i] = (unsigned char)(hex_digit_value((unsigned char)text[2 * i]) << 4 |
                                   hex_digit_value((unsigned char)text[2 * i + 1]));
    rc = pseudonym_key_from_bytes(out, bytes, len / 2, e);
    OPENSSL_cleanse(bytes, sizeof(bytes));
    return rc;
}

int pseudonym_key_from_env(struct pseudonym_key **out, struct err *e)
{
    const char *v = getenv(PSEUDONYM_KEY_ENV);

    *out = NULL;
    if (!v || !*v)
        return err_set(e, ERR_USAGE,
                       "no pseudonym key: set " PSEUDONYM_KEY_ENV " or give a key file");
    return pseudonym_key_from_text(out, v, strlen(v), PSEUDONYM_KEY_ENV, e);
}

int pseudonym_key_from_file(struct pseudonym_key **out, const char *path, struct err *e)
{
    char origin[512];
    char *text;
    size_t len;
    int rc;

    *out = NULL;
    if (fsutil_read_private(path, "pseudonym key file", PSEUDONYM_KEY_FILE_MAX, &text, &len, e) < 0)
        return -1;
    snprintf(origin, sizeof(origin), "'%s'", path);
    rc = pseudonym_key_from_text(out, text, len, origin, e);
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}

const char *pseudonym_key_fingerprint(const struct pseudonym_key *k)
{
    return k->fingerprint;
}

static const char *const shape_names[] = {
    [PSEUDONYM_EMAIL] = "email",       [PSEUDONYM_NAME] = "name",
    [PSEUDONYM_USERNAME] = "username", [PSEUDONYM_NICKNAME] = "nickname",
    [PSEUDONYM_PHONE] = "phone",       [PSEUDONYM_URL] = "url",
    [PSEUDONYM_OPAQUE] = "opaque",
};

const char *pseudonym_shape_name(enum pseudonym_shape s)
{
    if ((size_t)s < sizeof(shape_names) / sizeof(shape_names[0]))
        return shape_names[s];
    return "?";
}

bool pseudonym_shape_from_name(const char *name, enum pseudonym_shape *out)
{
    size_t i;

    for (i = 0; i < sizeof(shape_names) / sizeof(shape_names[0]); i++) {
        if (strcmp(shape_names[i], name) == 0) {
            *out = (enum pseudonym_shape)i;
            return true;
        }
    }
    return false;
}

void pseudonym_opts_init(struct pseudonym_opts *o)
{
    o->email_domain = "example.com";
    o->keep_email_domain = false;
    o->phone_prefix = "+999";
    o->username_length = 15;
    o->url_prefix = "https://example.com/avatar/";
}

static bool valid_domain_n(const char *d, size_t n)
{
    size_t i, label = 0, labels = 0, last_start = 0;
    bool tld_alpha = false;

    if (n == 0 || n > 253)
        return false;
    for (i = 0; i <= n; i++) {
        char ch = i < n ? d[i] : '.';
        if (ch == '.') {
            if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
                return false;
            labels++;
            last_start = i - label;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)ch) && ch != '-')
            return false;
        label++;
    }
    /* A numeric top-level label would make an IP address, not a host name. */
    for (i = last_start; i < n; i++)
        tld_alpha |= isalpha((unsigned char)d[i]) != 0;
    return labels >= 2 && tld_alpha;
}

bool pseudonym_valid_domain(const char *d)
{
    return valid_domain_n(d, strlen(d));
}

bool pseudonym_valid_phone_prefix(const char *p)
{
    size_t n = strlen(p), i;

    if (n < 2 || n > 7 || p[0] != '+' || p[1] == '0')
        return false;
    for (i = 1; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return false;
    return true;
}

bool pseudonym_valid_url_prefix(const char *u)
{
    size_t n = strlen(u);

    if (n > 200 || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
        return false;
    for (; *u; u++) {
        unsigned char ch = (unsigned char)*u;
        if (ch <= ' ' || ch >= 0x7f || strchr("\"'<>\\`{}|^", ch))
            return false;
    }
    return true;
}

bool pseudonym_looks_like_email(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len), *dot;
    size_t i;

    if (!at || at == s || memchr(at + 1, '@', len - (size_t)(at + 1 - s)))
        return false;
    for (i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]))
            return false;
    dot = memchr(at + 1, '.', len - (size_t)(at + 1 - s));
    return dot && dot > at + 1 && dot < s + len - 1;
}

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* Lower-cases ASCII only: bytes of UTF-8 sequences are left as they are.
 * Appends in one go and converts in place: this runs for every value. */
static int append_lower(struct buf *b, const char *s, size_t len, struct err *e)
{
    size_t start = b->len, i;

    if (buf_append(b, s, len, e) < 0)
        return -1;
    for (i = start; i < b->len; i++)
        b->data[i] = (char)tolower((unsigned char)b->data[i]);
    return 0;
}

/* Drops the bytes of b from start on for which keep() is false. */
static void filter_tail(struct buf *b, size_t start,
                        bool (*keep)(const char *p, size_t i, size_t start))
{
    size_t i, w = start;

    if (!b->data)
        return;
    for (i = start; i < b->len; i++)
        if (keep(b->data, i, start))
            b->data[w++] = b->data[i];
    b->len = w;
    b->data[w] = '\0';
}

/* Whitespace runs become one space ("Ann  Lee" is "Ann Lee"); the input
 * is already trimmed, so there is no space at either end. */
static bool keep_single_space(const char *p, size_t i, size_t start)
{
    return !isspace((unsigned char)p[i]) || (i > start && !isspace((unsigned char)p[i - 1]));
}

static bool keep_phone_char(const char *p, size_t i, size_t start)
{
    return isdigit((unsigned char)p[i]) || (i == start && p[i] == '+');
}

int pseudonym_normalize(enum pseudonym_shape s, const char *in, size_t len, struct buf *out,
                        struct err *e)
{
    size_t start = out->len, i;

    trim(&in, &len);
    switch (s) {
    case PSEUDONYM_NICKNAME:
    case PSEUDONYM_NAME:
        if (append_lower(out, in, len, e) < 0)
            return -1;
        for (i = start; i < out->len; i++)
            if (isspace((unsigned char)out->data[i]))
                out->data[i] = ' ';
        if (!pseudonym_looks_like_email(in, len))
            filter_tail(out, start, keep_single_space);
        return 0;
    case PSEUDONYM_EMAIL:
    case PSEUDONYM_USERNAME:
        return append_lower(out, in, len, e);
    case PSEUDONYM_PHONE:
        /* "+1 (415) 555-0100" and "+14155550100" are one number; a value
         * without digits is kept as text (lower-cased). */
        if (append_lower(out, in, len, e) < 0)
            return -1;
        for (i = 0; i < len; i++)
            if (isdigit((unsigned char)in[i]))
                break;
        if (i < len)
            filter_tail(out, start, keep_phone_char);
        return 0;
    case PSEUDONYM_URL:
    case PSEUDONYM_OPAQUE:
        return buf_append(out, in, len, e);
    }
    return err_set(e, ERR_INTERNAL, "unknown pseudonym shape %d", (int)s);
}

/* ndigits base32 digits from the front of h (ndigits * 5 <= 256). */
/* The digits of h in base32 (ndigits <= 51) or hex (2 * nbytes); out
 * must hold them. */
static void render_base32(const unsigned char *h, size_t ndigits, char *out)
{
    for (size_t i = 0; i < ndigits; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)h[byte] << 8 | (byte + 1 < HMAC_LEN ? h[byte + 1] : 0);
        out[i] = base32_alphabet[(v >> (11 - shift)) & 31];
    }
}

static void render_hex(const unsigned char *h, size_t nbytes, char *out)
{
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex_digits[h[i] >> 4];
        out[2 * i + 1] = hex_digits[h[i] & 15];
    }
}

#define TOKEN_MIN_WORD 3 /* shorter words of a value may appear in its token */
#define TOKEN_TRIES    16

/* The digits of a token pseudonym (ndigits base32 digits, or ndigits / 2
 * hex bytes) of norm under tag: HMAC(tag || 0 || norm) rendered, unless
 * that holds a word of norm (three characters or more), when the tag gets
 * "#1", "#2"... until it does not. Keyed and repeatable like the rest;
 * nearly always the first try. out must hold ndigits bytes. */
static int token(struct pseudonym_key *k, const char *tag, const char *norm, size_t len,
                 size_t ndigits, bool hex, unsigned char h[HMAC_LEN], char *out, struct err *e)
{
    char tagn[64];

    for (int attempt = 0; attempt < TOKEN_TRIES; attempt++) {
        if (attempt)
            snprintf(tagn, sizeof(tagn), "%s#%d", tag, attempt);
        if (tagged(k, attempt ? tagn : tag, norm, len, h, e) < 0)
            return -1;
        if (hex)
            render_hex(h, ndigits / 2, out);
        else
            render_base32(h, ndigits, out);
        if (!shares_word(norm, len, out, ndigits, TOKEN_MIN_WORD, false))
            break;
    }
    return 0;
}

static int append_token(struct pseudonym_key *k, const char *tag, const char *norm, size_t len,
                        size_t ndigits, bool hex, struct buf *b, struct err *e)
{
    unsigned char h[HMAC_LEN];
    char digits[2 * HMAC_LEN];

    if (token(k, tag, norm, len, ndigits, hex, h, digits, e) < 0)
        return -1;
    return buf_append(b, digits, ndigits, e);
}

/* nwords name words chosen by the bytes of h, none of them a word of the
 * value norm: a word that is takes the next unused byte of h instead (the
 * value has few words; h has HMAC_LEN - nwords spare bytes). */
static int append_words(struct buf *b, const unsigned char *h, size_t nwords, bool lower,
                        const char *norm, size_t len, struct err *e)
{
    size_t spare = nwords;

    for (size_t i = 0; i < nwords; i++) {
        const char *w = name_words[h[i]];
        while (shares_word(norm, len, w, strlen(w), 1, true) && spare < HMAC_LEN)
            w = name_words[h[spare++]];
        if (i && buf_append(b, lower ? "." : " ", 1, e) < 0)
            return -1;
        if (lower ? append_lower(b, w, strlen(w), e) : buf_appends(b, w, e))
            return -1;
    }
    return 0;
}

static int email_from_norm(struct pseudonym_key *k, const char *norm, size_t len,
                           const struct pseudonym_opts *o, bool local_only, struct buf *out,
                           struct err *e)
{
    unsigned char h[HMAC_LEN];
    const char *at;

    char digits[EMAIL_LOCAL_DIGITS];

    if (k->memo.len && k->memo.len == len && memcmp(k->memo.data, norm, len) == 0) {
        memcpy(h, k->memo_h, sizeof(h));
        render_base32(h, EMAIL_LOCAL_DIGITS, digits);
    } else {
        if (token(k, TAG_EMAIL, norm, len, EMAIL_LOCAL_DIGITS, false, h, digits, e) < 0)
            return -1;
        buf_reset(&k->memo);
        /* Too long to remember is fine: the memo only saves time. */
        if (buf_append(&k->memo, norm, len, NULL) == 0)
            memcpy(k->memo_h, h, sizeof(h));
        else
            buf_reset(&k->memo);
    }
    if (buf_append(out, "u-", 2, e) < 0 || buf_append(out, digits, EMAIL_LOCAL_DIGITS, e) < 0)
        return -1;
    if (local_only)
        return 0;
    at = memrchr(norm, '@', len);
    if (o->keep_email_domain && at && valid_domain_n(at + 1, len - (size_t)(at + 1 - norm)))
        return buf_append(out, at, len - (size_t)(at - norm), e);
    if (buf_append(out, "@", 1, e) < 0)
        return -1;
    return buf_appends(out, o->email_domain, e);
}

static size_t count_words(const char *norm, size_t len)
{
    size_t i, n = len ? 1 : 0;

    for (i = 0; i < len; i++)
        n += norm[i] == ' ';
    return n;
}

static int make_from_norm(struct pseudonym_key *k, enum pseudonym_shape s, const char *norm,
                          size_t len, const struct pseudonym_opts *o, struct buf *out,
                          struct err *e)
{
    unsigned char h[HMAC_LEN];
    size_t words, digits;
    char num[E164_DIGITS];
    uint64_t v;
    int i;

    switch (s) {
    case PSEUDONYM_EMAIL:
        return email_from_norm(k, norm, len, o, false, out, e);
    case PSEUDONYM_NAME:
    case PSEUDONYM_NICKNAME:
        /* A name that is an email (Auth0's default name) stays the same
         * email pseudonym, so name == email survives the transform. */
        if (pseudonym_looks_like_email(norm, len))
            return email_from_norm(k, norm, len, o, s == PSEUDONYM_NICKNAME, out, e);
        words = count_words(norm, len);
        if (words > NAME_MAX_WORDS)
            words = NAME_MAX_WORDS;
        if (s == PSEUDONYM_NICKNAME && words > 2)
            words = 2;
        if (tagged(k, TAG_NAME, norm, len, h, e) < 0)
            return -1;
        return append_words(out, h, words, s == PSEUDONYM_NICKNAME, norm, len, e);
    case PSEUDONYM_USERNAME:
        if (o->username_length < PSEUDONYM_USERNAME_MIN_LEN ||
            o->username_length > PSEUDONYM_USERNAME_MAX_LEN)
            return err_set(e, ERR_USAGE, "username length %u is not between %d and %d",
                           o->username_length, PSEUDONYM_USERNAME_MIN_LEN,
                           PSEUDONYM_USERNAME_MAX_LEN);
        if (buf_append(out, "u", 1, e) < 0)
            return -1;
        return append_token(k, TAG_USERNAME, norm, len, o->username_length - 1, false, out, e);
    case PSEUDONYM_PHONE:
        if (!pseudonym_valid_phone_prefix(o->phone_prefix))
            return err_set(e, ERR_USAGE, "invalid phone prefix '%s'", o->phone_prefix);
        digits = E164_DIGITS - (strlen(o->phone_prefix) - 1);
        if (tagged(k, TAG_PHONE, norm, len, h, e) < 0)
            return -1;
        v = 0;
        for (i = 0; i < 8; i++)
            v = v << 8 | h[i];
        /* The last `digits` decimal digits of v, zero-padded. */
        for (i = (int)digits - 1; i >= 0; i--) {
            num[i] = (char)('0' + v % 10);
            v /= 10;
        }
        if (buf_appends(out, o->phone_prefix, e) < 0)
            return -1;
        return buf_append(out, num, digits, e);
    case PSEUDONYM_URL:
        if (buf_appends(out, o->url_prefix, e) < 0 ||
            append_token(k, TAG_URL, norm, len, 2 * OPAQUE_BYTES, true, out, e) < 0)
            return -1;
        return buf_append(out, ".png", 4, e);
    case PSEUDONYM_OPAQUE:
        return append_token(k, TAG_OPAQUE, norm, len, 2 * OPAQUE_BYTES, true, out, e);
    }
    return err_set(e, ERR_INTERNAL, "unknown pseudonym shape %d", (int)s);
}

static void buf_truncate(struct buf *b, size_t len)
{
    if (b->data && len <= b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

int pseudonym_make(struct pseudonym_key *k, enum pseudonym_shape s, const char *in, size_t len,
                   const struct pseudonym_opts *o, struct buf *out, struct err *e)
{
    size_t start = out->len;

    if (len > PSEUDONYM_INPUT_MAX)
        return err_set(e, ERR_USAGE, "value too long to pseudonymise (%zu bytes, at most %d)", len,
                       PSEUDONYM_INPUT_MAX);
    buf_reset(&k->norm);
    if (pseudonym_normalize(s, in, len, &k->norm, e) < 0)
        return -1;
    if (k->norm.len == 0)
        return 0;
    if (make_from_norm(k, s, buf_str(&k->norm), k->norm.len, o, out, e) < 0) {
        buf_truncate(out, start);
        return -1;
    }
    return 0;
}

int pseudonym_email(struct pseudonym_key *k, const char *in, const char *domain, bool keep_domain,
                    struct buf *out, struct err *e)
{
    struct pseudonym_opts o;

    pseudonym_opts_init(&o);
    if (domain)
        o.email_domain = domain;
    o.keep_email_domain = keep_domain;
    return pseudonym_make(k, PSEUDONYM_EMAIL, in, strlen(in), &o, out, e);
}

int pseudonym_hash(struct pseudonym_key *k, const char *in, size_t len, struct buf *out,
                   struct err *e)
{
    unsigned char h[HMAC_LEN];
    char hex[2 * HMAC_LEN];

    /* A digest, not a pseudonym of a shape: the HMAC as it is. */
    if (tagged(k, TAG_HASH, in, len, h, e) < 0)
        return -1;
    render_hex(h, HMAC_LEN, hex);
    return buf_append(out, hex, sizeof(hex), e);
}
