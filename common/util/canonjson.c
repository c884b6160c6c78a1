/*
 * canonjson.c - see canonjson.h.
 *
 * One recursive-descent pass fills the node table and checks everything
 * jansson's loader checks (its lexer in load.c, UTF-8 in utf.c); anything
 * it would reject or treat specially makes the parse return 0. When an
 * object closes, its members are sorted by key as jansson's dump compares
 * them (memcmp, then the shorter first) and relinked in that order, and a
 * duplicate key stops the fast path. Reals are formatted while parsing,
 * so the output's size is known before writing: canonjson_write cannot
 * fail.
 *
 * Writing copies spans: a string without escapes is its own canonical
 * form (no control characters, valid UTF-8, and jansson escapes nothing
 * else), an integer is its digits ("-0" excepted). Only strings with
 * escapes are decoded and escaped again, by jansson's rules.
 */
#include "canonjson.h"
#include "jsonutil.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SORT_SMALL 24 /* members sorted by insertion up to this many */
#define REAL_MAX   64 /* longest real text handled (in and out) */

struct canonjson_member {
    const unsigned char *k;
    uint32_t klen, node;
};

struct parser {
    struct canonjson *cj;
    const unsigned char *t;
    size_t i, n;
    struct err *e;
    bool oom;
};

/* String bytes: 0 plain ASCII, 1 '"', 2 '\\', 3 control, 4 UTF-8 lead or other. */
static const unsigned char str_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

static const char hex_upper[] = "0123456789ABCDEF";

void canonjson_init(struct canonjson *cj)
{
    cj->text = NULL;
    cj->len = 0;
    cj->nodes = cj->inline_nodes;
    cj->n = 0;
    cj->cap = CANONJSON_INLINE;
    cj->bound = 0;
    cj->reals = NULL;
    cj->reals_len = cj->reals_cap = 0;
    cj->sort = NULL;
    cj->sort_cap = 0;
}

void canonjson_release(struct canonjson *cj)
{
    if (cj->nodes != cj->inline_nodes)
        free(cj->nodes);
    free(cj->reals);
    free(cj->sort);
    canonjson_init(cj);
}

/* ---- parsing ------------------------------------------------------------ */

static uint32_t new_node(struct parser *p)
{
    struct canonjson *cj = p->cj;
    struct canonjson_node *nodes;
    size_t cap;

    if (cj->n == cj->cap) {
        if (cj->cap >= UINT32_MAX / 2) {
            p->oom = true;
            return 0;
        }
        cap = cj->cap * 2;
        nodes = cj->nodes == cj->inline_nodes ? malloc(cap * sizeof(*nodes))
                                              : realloc(cj->nodes, cap * sizeof(*nodes));
        if (!nodes) {
            p->oom = true;
            return 0;
        }
        if (cj->nodes == cj->inline_nodes)
            memcpy(nodes, cj->inline_nodes, sizeof(cj->inline_nodes));
        cj->nodes = nodes;
        cj->cap = cap;
    }
    memset(&cj->nodes[cj->n], 0, sizeof(cj->nodes[0]));
    return (uint32_t)cj->n++;
}

static void skip_ws(struct parser *p)
{
    while (p->i < p->n &&
           (p->t[p->i] == ' ' || p->t[p->i] == '\n' || p->t[p->i] == '\t' || p->t[p->i] == '\r'))
        p->i++;
}

/* The 4 hex digits after "\u" at s; -1 if they are not. */
static long hex4(const unsigned char *s)
{
    long v = 0;
    int i, d;

    for (i = 0; i < 4; i++) {
        d = hex_digit_value(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The code point of the \u escape (one, or a surrogate pair) at t[i]
 * (pointing at the backslash), and its length in *adv; -1 when jansson
 * would reject it, or it is U+0000. */
static long unicode_escape(const unsigned char *t, size_t i, size_t n, size_t *adv)
{
    long v, v2;

    if (n - i < 6 || (v = hex4(t + i + 2)) < 0)
        return -1;
    *adv = 6;
    if (v >= 0xDC00 && v <= 0xDFFF)
        return -1;
    if (v >= 0xD800 && v <= 0xDBFF) {
        if (n - i < 12 || t[i + 6] != '\\' || t[i + 7] != 'u')
            return -1;
        v2 = hex4(t + i + 8);
        if (v2 < 0xDC00 || v2 > 0xDFFF)
            return -1;
        *adv = 12;
        return ((v - 0xD800) << 10) + (v2 - 0xDC00) + 0x10000;
    }
    return v == 0 ? -1 : v;
}

/* Length of the valid UTF-8 sequence at t[i] (lead byte >= 0x80), 0 if
 * invalid: jansson's utf8_check_first + utf8_check_full. */
static size_t utf8_seq(const unsigned char *t, size_t i, size_t n)
{
    unsigned char u = t[i];
    size_t count, k;
    long v;

    if (u >= 0xC2 && u <= 0xDF) {
        count = 2;
        v = u & 0x1F;
    } else if (u >= 0xE0 && u <= 0xEF) {
        count = 3;
        v = u & 0x0F;
    } else if (u >= 0xF0 && u <= 0xF4) {
        count = 4;
        v = u & 0x07;
    } else {
        return 0;
    }
    if (n - i < count)
        return 0;
    for (k = 1; k < count; k++) {
        if (t[i + k] < 0x80 || t[i + k] > 0xBF)
            return 0;
        v = (v << 6) + (t[i + k] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (count == 2 && v < 0x80) ||
        (count == 3 && v < 0x800) || (count == 4 && v < 0x10000))
        return 0;
    return count;
}

/* A string at t[i] == '"'. Sets *esc when it holds escapes; 0 to give up. */
static int scan_string(struct parser *p, bool *esc)
{
    const unsigned char *t = p->t;
    size_t i = p->i + 1, n = p->n, adv;

    *esc = false;
    for (;;) {
        while (i < n && str_class[t[i]] == 0)
            i++;
        if (i >= n)
            return 0;
        switch (str_class[t[i]]) {
        case 1:
            p->i = i + 1;
            return 1;
        case 2:
            *esc = true;
            if (i + 1 >= n)
                return 0;
            switch (t[i + 1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                i += 2;
                break;
            case 'u':
                if (unicode_escape(t, i, n, &adv) < 0)
                    return 0;
                i += adv;
                break;
            default:
                return 0;
            }
            break;
        case 3:
            return 0;
        default:
            adv = utf8_seq(t, i, n);
            if (!adv)
                return 0;
            i += adv;
            break;
        }
    }
}

/* jansson's jsonp_dtostr(value, precision 17) into out (REAL_MAX bytes);
 * its length, 0 when not handled (a locale whose decimal point is not '.'). */
static size_t format_double(double v, char *out)
{
    char *start, *e;
    int r;
    size_t length;

    /* jansson swaps '.' for the locale's decimal point; keep to the usual case. */
    if (!isfinite(v) || strcmp(localeconv()->decimal_point, ".") != 0)
        return 0;
    r = snprintf(out, REAL_MAX - 3, "%.17g", v);
    if (r < 0 || (size_t)r >= REAL_MAX - 3)
        return 0;
    length = (size_t)r;
    if (!strchr(out, '.') && !strchr(out, 'e')) {
        out[length++] = '.';
        out[length++] = '0';
        out[length] = '\0';
    }
    start = strchr(out, 'e');
    if (start) {
        start++;
        e = start + 1;
        if (*start == '-')
            start++;
        while (*e == '0')
            e++;
        if (e != start) {
            memmove(start, e, length - (size_t)(e - out) + 1);
            length -= (size_t)(e - start);
        }
    }
    return length;
}

/* A real's text as jansson's loader reads it; false if it would not. */
static bool real_value(const unsigned char *s, size_t len, double *v)
{
    char in[REAL_MAX + 1], *end;

    if (len > REAL_MAX)
        return false;
    memcpy(in, s, len);
    in[len] = '\0';
    errno = 0;
    *v = strtod(in, &end);
    return end == in + len && !((*v == HUGE_VAL || *v == -HUGE_VAL) && errno == ERANGE);
}

/* A real's canonical text, into the reals buffer. */
static int format_real(struct parser *p, struct canonjson_node *nd)
{
    struct canonjson *cj = p->cj;
    char out[REAL_MAX];
    double v;
    size_t length;

    if (!real_value(p->t + nd->start, nd->len, &v) || !(length = format_double(v, out)))
        return 0;
    if (cj->reals_cap - cj->reals_len < length) {
        size_t cap = cj->reals_cap ? cj->reals_cap * 2 : 256;
        char *m;
        while (cap - cj->reals_len < length)
            cap *= 2;
        m = realloc(cj->reals, cap);
        if (!m) {
            p->oom = true;
            return 0;
        }
        cj->reals = m;
        cj->reals_cap = cap;
    }
    memcpy(cj->reals + cj->reals_len, out, length);
    nd->first = (uint32_t)cj->reals_len;
    nd->count = (uint32_t)length;
    cj->reals_len += length;
    cj->bound += length;
    return 1;
}

/* A number at t[i], by jansson's lexer rules. */
static int scan_number(struct parser *p, struct canonjson_node *nd)
{
    static const char max_pos[] = "9223372036854775807", max_neg[] = "9223372036854775808";
    const unsigned char *t = p->t;
    size_t i = p->i, n = p->n, digits_at, ndig;
    bool neg = false, real = false;

    if (t[i] == '-') {
        neg = true;
        i++;
    }
    digits_at = i;
    if (i < n && t[i] == '0') {
        i++;
        if (i < n && t[i] >= '0' && t[i] <= '9')
            return 0;
    } else if (i < n && t[i] >= '1' && t[i] <= '9') {
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
    } else {
        return 0;
    }
    ndig = i - digits_at;
    if (i < n && t[i] == '.') {
        real = true;
        i++;
        if (i >= n || t[i] < '0' || t[i] > '9')
            return 0;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        real = true;
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        if (i >= n || t[i] < '0' || t[i] > '9')
            return 0;
        while (i < n && t[i] >= '0' && t[i] <= '9')
            i++;
    }
    nd->start = (uint32_t)p->i;
    nd->len = (uint32_t)(i - p->i);
    p->i = i;
    if (real) {
        nd->type = CANONJSON_REAL;
        return format_real(p, nd);
    }
    /* strtoll's range, without calling it. */
    if (ndig > 19 || (ndig == 19 && memcmp(t + digits_at, neg ? max_neg : max_pos, 19) > 0))
        return 0;
    nd->type = CANONJSON_INTEGER;
    return 1;
}

static int scan_literal(struct parser *p, const char *word, size_t wlen)
{
    if (p->n - p->i < wlen || memcmp(p->t + p->i, word, wlen) != 0)
        return 0;
    p->i += wlen;
    /* jansson reads a whole identifier: "truex" is one bad token. */
    if (p->i < p->n &&
        ((p->t[p->i] >= 'a' && p->t[p->i] <= 'z') || (p->t[p->i] >= 'A' && p->t[p->i] <= 'Z')))
        return 0;
    return 1;
}

static int key_cmp(const struct canonjson_member *a, const struct canonjson_member *b)
{
    size_t m = a->klen < b->klen ? a->klen : b->klen;
    int d = memcmp(a->k, b->k, m);

    if (d)
        return d;
    return a->klen < b->klen ? -1 : a->klen > b->klen ? 1 : 0;
}

static int member_qsort_cmp(const void *a, const void *b)
{
    return key_cmp(a, b);
}

/* Sorts an object's members (first..next chain) by key and relinks them;
 * 0 on a duplicate key. */
static int sort_members(struct parser *p, struct canonjson_node *obj)
{
    struct canonjson *cj = p->cj;
    struct canonjson_member *m, tmp;
    size_t cnt = obj->count, k, j;
    uint32_t x;

    if (cnt < 2)
        return 1;
    if (cj->sort_cap < cnt) {
        size_t cap = cj->sort_cap ? cj->sort_cap : 64;
        while (cap < cnt)
            cap *= 2;
        m = realloc(cj->sort, cap * sizeof(*m));
        if (!m) {
            p->oom = true;
            return 0;
        }
        cj->sort = m;
        cj->sort_cap = cap;
    }
    m = cj->sort;
    for (k = 0, x = obj->first; k < cnt; k++, x = cj->nodes[x].next) {
        m[k].k = p->t + cj->nodes[x].key;
        m[k].klen = cj->nodes[x].klen;
        m[k].node = x;
    }
    if (cnt <= SORT_SMALL) {
        for (k = 1; k < cnt; k++) {
            tmp = m[k];
            for (j = k; j > 0 && key_cmp(&m[j - 1], &tmp) > 0; j--)
                m[j] = m[j - 1];
            m[j] = tmp;
        }
    } else {
        qsort(m, cnt, sizeof(*m), member_qsort_cmp);
    }
    for (k = 1; k < cnt; k++)
        if (key_cmp(&m[k - 1], &m[k]) == 0)
            return 0;
    obj->first = m[0].node;
    for (k = 0; k + 1 < cnt; k++)
        cj->nodes[m[k].node].next = m[k + 1].node;
    cj->nodes[m[cnt - 1].node].next = 0;
    return 1;
}

static int parse_value(struct parser *p, uint32_t x, int depth);

/* An object or array at t[i]; x is its node. */
static int parse_container(struct parser *p, uint32_t x, int depth)
{
    struct canonjson *cj = p->cj;
    bool is_obj = p->t[p->i] == '{', esc;
    unsigned char close = is_obj ? '}' : ']';
    uint32_t last = 0, child, count = 0, kstart, klen;

    if (depth > CANONJSON_MAX_DEPTH)
        return 0;
    if (depth > cj->depth)
        cj->depth = depth;
    cj->nodes[x].type = is_obj ? CANONJSON_OBJECT : CANONJSON_ARRAY;
    cj->nodes[x].start = (uint32_t)p->i;
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->t[p->i] == close) {
        p->i++;
        cj->nodes[x].len = (uint32_t)(p->i - cj->nodes[x].start);
        return 1;
    }
    for (;;) {
        kstart = klen = 0;
        if (is_obj) {
            if (p->i >= p->n || p->t[p->i] != '"')
                return 0;
            kstart = (uint32_t)(p->i + 1);
            if (!scan_string(p, &esc) || esc)
                return 0;
            klen = (uint32_t)(p->i - 1 - kstart);
            skip_ws(p);
            if (p->i >= p->n || p->t[p->i] != ':')
                return 0;
            p->i++;
            skip_ws(p);
        }
        child = new_node(p);
        if (!child)
            return 0;
        cj->nodes[child].key = kstart;
        cj->nodes[child].klen = klen;
        if (!parse_value(p, child, depth + 1))
            return 0;
        if (last)
            cj->nodes[last].next = child;
        else
            cj->nodes[x].first = child;
        last = child;
        count++;
        skip_ws(p);
        if (p->i >= p->n)
            return 0;
        if (p->t[p->i] == ',') {
            p->i++;
            skip_ws(p);
            continue;
        }
        if (p->t[p->i] != close)
            return 0;
        p->i++;
        break;
    }
    cj->nodes[x].count = count;
    cj->nodes[x].len = (uint32_t)(p->i - cj->nodes[x].start);
    return is_obj ? sort_members(p, &cj->nodes[x]) : 1;
}

static int parse_value(struct parser *p, uint32_t x, int depth)
{
    struct canonjson_node *nd = &p->cj->nodes[x];
    bool esc;

    if (p->i >= p->n)
        return 0;
    switch (p->t[p->i]) {
    case '{':
    case '[':
        return parse_container(p, x, depth);
    case '"':
        nd->type = CANONJSON_STRING;
        nd->start = (uint32_t)p->i;
        if (!scan_string(p, &esc))
            return 0;
        nd = &p->cj->nodes[x];
        nd->esc = esc;
        nd->len = (uint32_t)(p->i - nd->start);
        return 1;
    case 't':
        nd->type = CANONJSON_TRUE;
        nd->start = (uint32_t)p->i;
        nd->len = 4;
        return scan_literal(p, "true", 4);
    case 'f':
        nd->type = CANONJSON_FALSE;
        nd->start = (uint32_t)p->i;
        nd->len = 5;
        return scan_literal(p, "false", 5);
    case 'n':
        nd->type = CANONJSON_NULL;
        nd->start = (uint32_t)p->i;
        nd->len = 4;
        return scan_literal(p, "null", 4);
    default:
        if (p->t[p->i] == '-' || (p->t[p->i] >= '0' && p->t[p->i] <= '9'))
            return scan_number(p, nd);
        return 0;
    }
}

int canonjson_parse(struct canonjson *cj, const char *text, size_t len, struct err *e)
{
    struct parser p = {cj, (const unsigned char *)text, 0, len, e, false};
    uint32_t root;
    int r;

    cj->text = text;
    cj->len = len;
    cj->n = 0;
    cj->reals_len = 0;
    cj->bound = len;
    cj->depth = 0;
    if (len >= UINT32_MAX)
        return 0;
    root = new_node(&p);
    skip_ws(&p);
    if (p.i >= p.n || p.t[p.i] != '{')
        return 0;
    r = parse_container(&p, root, 1);
    if (p.oom)
        return err_oom(e);
    if (!r)
        return 0;
    skip_ws(&p);
    return p.i == p.n ? 1 : 0;
}

/* ---- writing ------------------------------------------------------------ */

static size_t put_utf8(char *d, long cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A code point as jansson's dump_string writes it (no flags). */
static size_t put_cp(char *d, long cp)
{
    /* The two-character escapes, by the character they stand for. */
    static const char short_escape[] = "\"\"\\\\\bb\ff\nn\rr\tt";

    for (const char *p = short_escape; *p; p += 2) {
        if (cp == (unsigned char)p[0]) {
            d[0] = '\\';
            d[1] = p[1];
            return 2;
        }
    }
    if (cp < 0x20) {
        memcpy(d, "\\u00", 4);
        d[4] = hex_upper[cp >> 4];
        d[5] = hex_upper[cp & 15];
        return 6;
    }
    return put_utf8(d, cp);
}

/* A string holding escapes (validated by the parse), decoded and escaped
 * again. Never longer than its source. */
static size_t write_escaped(const unsigned char *s, size_t len, char *dst)
{
    size_t i = 1, adv, d = 0;
    long cp;

    dst[d++] = '"';
    while (i < len - 1) {
        if (s[i] != '\\') {
            dst[d++] = (char)s[i++];
            continue;
        }
        switch (s[i + 1]) {
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            cp = unicode_escape(s, i, len, &adv);
            d += put_cp(dst + d, cp);
            i += adv;
            continue;
        default: /* '"', '\\', '/' */
            cp = s[i + 1];
            break;
        }
        d += put_cp(dst + d, cp);
        i += 2;
    }
    dst[d++] = '"';
    return d;
}

size_t canonjson_bound(const struct canonjson *cj)
{
    return cj->bound;
}

size_t canonjson_write(const struct canonjson *cj, size_t node, char *dst)
{
    const struct canonjson_node *nd = &cj->nodes[node];
    const unsigned char *t = (const unsigned char *)cj->text;
    size_t d = 0;
    uint32_t x;

    switch (nd->type) {
    case CANONJSON_OBJECT:
    case CANONJSON_ARRAY:
        dst[d++] = nd->type == CANONJSON_OBJECT ? '{' : '[';
        for (x = nd->first; x; x = cj->nodes[x].next) {
            if (x != nd->first)
                dst[d++] = ',';
            if (nd->type == CANONJSON_OBJECT) {
                dst[d++] = '"';
                memcpy(dst + d, t + cj->nodes[x].key, cj->nodes[x].klen);
                d += cj->nodes[x].klen;
                dst[d++] = '"';
                dst[d++] = ':';
            }
            d += canonjson_write(cj, x, dst + d);
        }
        dst[d++] = nd->type == CANONJSON_OBJECT ? '}' : ']';
        return d;
    case CANONJSON_STRING:
        if (nd->esc)
            return write_escaped(t + nd->start, nd->len, dst);
        break;
    case CANONJSON_INTEGER:
        if (nd->len == 2 && t[nd->start] == '-' && t[nd->start + 1] == '0') {
            dst[0] = '0';
            return 1;
        }
        break;
    case CANONJSON_REAL:
        memcpy(dst, cj->reals + nd->first, nd->count);
        return nd->count;
    default:
        break;
    }
    memcpy(dst, t + nd->start, nd->len);
    return nd->len;
}

int canonjson_canon(struct canonjson *cj, const char *text, size_t len, struct buf *out,
                    struct err *e)
{
    char *tmp;
    size_t n;
    int r = canonjson_parse(cj, text, len, e);

    if (r <= 0)
        return r;
    tmp = malloc(canonjson_bound(cj) + 1);
    if (!tmp)
        return err_oom(e);
    n = canonjson_write(cj, CANONJSON_ROOT, tmp);
    r = buf_append(out, tmp, n, e) < 0 ? -1 : 1;
    free(tmp);
    return r;
}

/* ---- reading ------------------------------------------------------------ */

enum canonjson_type canonjson_type(const struct canonjson *cj, size_t node)
{
    return (enum canonjson_type)cj->nodes[node].type;
}

size_t canonjson_count(const struct canonjson *cj, size_t node)
{
    const struct canonjson_node *nd = &cj->nodes[node];

    return nd->type == CANONJSON_OBJECT || nd->type == CANONJSON_ARRAY ? nd->count : 0;
}

size_t canonjson_first(const struct canonjson *cj, size_t node)
{
    const struct canonjson_node *nd = &cj->nodes[node];

    if ((nd->type != CANONJSON_OBJECT && nd->type != CANONJSON_ARRAY) || !nd->first)
        return CANONJSON_NONE;
    return nd->first;
}

size_t canonjson_next(const struct canonjson *cj, size_t node)
{
    return cj->nodes[node].next ? cj->nodes[node].next : CANONJSON_NONE;
}

size_t canonjson_get(const struct canonjson *cj, size_t node, const char *key, size_t klen)
{
    const struct canonjson_node *nd = &cj->nodes[node];
    uint32_t x;

    if (nd->type != CANONJSON_OBJECT)
        return CANONJSON_NONE;
    for (x = nd->first; x; x = cj->nodes[x].next)
        if (cj->nodes[x].klen == klen && memcmp(cj->text + cj->nodes[x].key, key, klen) == 0)
            return x;
    return CANONJSON_NONE;
}

size_t canonjson_at(const struct canonjson *cj, size_t node, size_t i)
{
    const struct canonjson_node *nd = &cj->nodes[node];
    uint32_t x;

    if (nd->type != CANONJSON_ARRAY || i >= nd->count)
        return CANONJSON_NONE;
    for (x = nd->first; i; i--)
        x = cj->nodes[x].next;
    return x;
}

const char *canonjson_key(const struct canonjson *cj, size_t node, size_t *klen)
{
    *klen = cj->nodes[node].klen;
    return cj->text + cj->nodes[node].key;
}

bool canonjson_string(const struct canonjson *cj, size_t node, const char **s, size_t *len)
{
    const struct canonjson_node *nd = &cj->nodes[node];

    if (nd->type != CANONJSON_STRING || nd->esc)
        return false;
    *s = cj->text + nd->start + 1;
    *len = nd->len - 2;
    return true;
}

/* ---- jansson values ----------------------------------------------------- */

/* The character a one-letter escape stands for: \b \f \n \r \t, or the
 * letter itself (\" \\ \/). */
static char unescape_char(unsigned char c)
{
    static const char pairs[] = "b\bf\fn\nr\rt\t";

    for (const char *p = pairs; *p; p += 2)
        if ((unsigned char)p[0] == c)
            return p[1];
    return (char)c;
}

/* A string's value, escapes decoded (validated by the parse); its length. */
static size_t decode_string(const unsigned char *s, size_t len, char *dst)
{
    size_t i = 1, adv, d = 0;

    while (i < len - 1) {
        if (s[i] != '\\') {
            dst[d++] = (char)s[i++];
            continue;
        }
        if (s[i + 1] == 'u') {
            d += put_utf8(dst + d, unicode_escape(s, i, len, &adv));
            i += adv;
            continue;
        }
        dst[d++] = unescape_char(s[i + 1]);
        i += 2;
    }
    return d;
}

static json_t *integer_json(const unsigned char *s, size_t len)
{
    unsigned long long u = 0;
    size_t i = s[0] == '-';

    for (; i < len; i++)
        u = u * 10 + (unsigned)(s[i] - '0');
    if (s[0] != '-')
        return json_integer((json_int_t)u);
    return u ? json_integer(-(json_int_t)(u - 1) - 1) : json_integer(0);
}

json_t *canonjson_to_json(const struct canonjson *cj, size_t node)
{
    const struct canonjson_node *nd = &cj->nodes[node];
    const unsigned char *t = (const unsigned char *)cj->text;
    json_t *j = NULL, *child;
    uint32_t x;
    size_t n;
    double v;

    switch (nd->type) {
    case CANONJSON_OBJECT:
        j = json_object();
        /* Members go in in sorted key order (the chain's, after parsing):
         * jansson keeps insertion order, so canonjson_dump() then finds
         * them sorted already. Nothing that reads the object depends on
         * its order. */
        for (x = nd->first; j && x; x = cj->nodes[x].next) {
            child = canonjson_to_json(cj, x);
            if (!child || json_object_setn_new_nocheck(j, cj->text + cj->nodes[x].key,
                                                       cj->nodes[x].klen, child) < 0) {
                json_decref(j);
                j = NULL;
            }
        }
        return j;
    case CANONJSON_ARRAY:
        j = json_array();
        for (x = nd->first; j && x; x = cj->nodes[x].next) {
            child = canonjson_to_json(cj, x);
            if (!child || json_array_append_new(j, child) < 0) {
                json_decref(j);
                j = NULL;
            }
        }
        return j;
    case CANONJSON_STRING:
        if (!nd->esc)
            return json_stringn_nocheck(cj->text + nd->start + 1, nd->len - 2);
        {
            char *tmp = malloc(nd->len);
            if (!tmp)
                return NULL;
            n = decode_string(t + nd->start, nd->len, tmp);
            j = json_stringn_nocheck(tmp, n);
            free(tmp);
            return j;
        }
    case CANONJSON_INTEGER:
        return integer_json(t + nd->start, nd->len);
    case CANONJSON_REAL:
        return real_value(t + nd->start, nd->len, &v) ? json_real(v) : NULL;
    case CANONJSON_TRUE:
        return json_true();
    case CANONJSON_FALSE:
        return json_false();
    default:
        return json_null();
    }
}

/* ---- dumping a json_t --------------------------------------------------- */

struct kv {
    const char *k;
    size_t klen;
    json_t *v;
};

struct dumper {
    struct buf *out;
    struct err *e;
    struct kv *stack; /* members of the objects being written */
    size_t top, cap;
    int r; /* 1 so far, 0 not handled, -1 failed */
};

static int kv_cmp(const struct kv *a, const struct kv *b)
{
    int d = memcmp(a->k, b->k, a->klen < b->klen ? a->klen : b->klen);

    if (d)
        return d;
    return a->klen < b->klen ? -1 : a->klen > b->klen ? 1 : 0;
}

static int kv_qsort_cmp(const void *a, const void *b)
{
    return kv_cmp(a, b);
}

static void d_put(struct dumper *d, const void *s, size_t n)
{
    struct buf *b = d->out;

    if (d->r != 1)
        return;
    /* Most pieces fit what the buffer already has. */
    if (b->data && n < b->cap - b->len && n <= b->max - b->len) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    if (buf_append(b, s, n, d->e) < 0)
        d->r = -1;
}

/* dump_string: escapes as jansson writes them; 0 on bad UTF-8. */
static void d_string(struct dumper *d, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, from = 0, adv;
    char esc[6];

    d_put(d, "\"", 1);
    while (i < len && d->r == 1) {
        unsigned char c = s[i];
        if (str_class[c] == 0) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            adv = utf8_seq(s, i, len);
            if (!adv) {
                d->r = 0;
                return;
            }
            i += adv;
            continue;
        }
        d_put(d, s + from, i - from);
        d_put(d, esc, put_cp(esc, c));
        from = ++i;
    }
    d_put(d, s + from, i - from);
    d_put(d, "\"", 1);
}

static void d_value(struct dumper *d, const json_t *j, int depth)
{
    char num[REAL_MAX];
    size_t n, base, k;
    const char *key;
    void *it;
    int len;

    if (d->r != 1)
        return;
    if (depth > CANONJSON_MAX_DEPTH) {
        d->r = 0; /* deep, or a cycle jansson would refuse */
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        n = json_object_size(j);
        if (d->cap - d->top < n) {
            size_t cap = d->cap ? d->cap : 64;
            struct kv *s;
            while (cap - d->top < n)
                cap *= 2;
            s = realloc(d->stack, cap * sizeof(*s));
            if (!s) {
                d->r = err_oom(d->e);
                return;
            }
            d->stack = s;
            d->cap = cap;
        }
        base = d->top;
        for (it = json_object_iter((json_t *)j); it; it = json_object_iter_next((json_t *)j, it)) {
            key = json_object_iter_key(it);
            d->stack[d->top].k = key;
            d->stack[d->top].klen = json_object_iter_key_len(it);
            d->stack[d->top].v = json_object_iter_value(it);
            d->top++;
        }
        for (k = base + 1; k < d->top && kv_cmp(&d->stack[k - 1], &d->stack[k]) < 0; k++)
            ;
        if (k >= d->top) {
            /* already in order (objects made by canonjson_to_json) */
        } else if (n <= SORT_SMALL) {
            for (k = base + 1; k < d->top; k++) {
                struct kv tmp = d->stack[k];
                size_t m;
                for (m = k; m > base && kv_cmp(&d->stack[m - 1], &tmp) > 0; m--)
                    d->stack[m] = d->stack[m - 1];
                d->stack[m] = tmp;
            }
        } else {
            qsort(d->stack + base, n, sizeof(*d->stack), kv_qsort_cmp);
        }
        d_put(d, "{", 1);
        for (k = 0; k < n && d->r == 1; k++) {
            /* the stack may move while children are written: index it */
            if (k)
                d_put(d, ",", 1);
            d_string(d, d->stack[base + k].k, d->stack[base + k].klen);
            d_put(d, ":", 1);
            d_value(d, d->stack[base + k].v, depth + 1);
        }
        d_put(d, "}", 1);
        d->top = base;
        return;
    case JSON_ARRAY:
        d_put(d, "[", 1);
        for (k = 0; k < json_array_size(j) && d->r == 1; k++) {
            if (k)
                d_put(d, ",", 1);
            d_value(d, json_array_get(j, k), depth + 1);
        }
        d_put(d, "]", 1);
        return;
    case JSON_STRING:
        d_string(d, json_string_value(j), json_string_length(j));
        return;
    case JSON_INTEGER:
        len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        d_put(d, num, (size_t)len);
        return;
    case JSON_REAL:
        n = format_double(json_real_value(j), num);
        if (!n)
            d->r = 0;
        d_put(d, num, n);
        return;
    case JSON_TRUE:
        d_put(d, "true", 4);
        return;
    case JSON_FALSE:
        d_put(d, "false", 5);
        return;
    default:
        d_put(d, "null", 4);
        return;
    }
}

int canonjson_dump(const json_t *j, struct buf *out, struct err *e)
{
    struct dumper d = {out, e, NULL, 0, 0, 1};
    size_t start = out->len;

    if (!json_is_object(j) && !json_is_array(j))
        return 0;
    d_value(&d, j, 1);
    free(d.stack);
    if (d.r != 1) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return d.r;
}

int canonjson_dump_string(const char *s, size_t len, struct buf *out, struct err *e)
{
    struct dumper d = {out, e, NULL, 0, 0, 1};
    size_t start = out->len;

    d_string(&d, s, len);
    if (d.r != 1) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return d.r;
}
