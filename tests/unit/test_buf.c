/* Unit tests for buf.c and err.c. */
#include "buf.h"
#include "err.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void test_append_and_ceiling(void)
{
    struct buf b;
    struct err e;

    err_clear(&e);
    buf_init(&b, 8);
    CHECK_STR(buf_str(&b), "");
    CHECK_INT(buf_append(&b, "abcd", 4, &e), 0);
    CHECK_INT(buf_appendf(&b, &e, "%d", 123), 0);
    CHECK_STR(buf_str(&b), "abcd123");
    CHECK_INT(buf_append(&b, "xy", 2, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK(strstr(e.msg, "too large") != NULL);
    CHECK_STR(buf_str(&b), "abcd123");
    CHECK_INT(buf_append(&b, "z", 1, &e), 0);
    CHECK_INT(b.len, 8);
    buf_release(&b);
    buf_release(&b);
}

/* Room reserved is room to write in; the ceiling holds for it too. */
static void test_reserve(void)
{
    struct buf b;
    struct err e;

    err_clear(&e);
    buf_init(&b, 8);
    CHECK_INT(buf_append(&b, "ab", 2, &e), 0);
    CHECK_INT(buf_reserve(&b, 6, &e), 0);
    CHECK(b.cap >= 9);
    CHECK_STR(buf_str(&b), "ab");
    memcpy(b.data + b.len, "cdefgh", 6);
    b.len += 6;
    b.data[b.len] = '\0';
    CHECK_STR(buf_str(&b), "abcdefgh");
    CHECK_INT(buf_reserve(&b, 1, &e), -1);
    CHECK_INT(e.code, ERR_IO);
    CHECK_STR(buf_str(&b), "abcdefgh");
    buf_release(&b);
}

static void test_detach(void)
{
    struct buf b;
    struct err e;
    size_t n;
    char *p;

    buf_init(&b, 1024);
    p = buf_detach(&b, &n);
    CHECK(p != NULL);
    CHECK_INT(n, 0);
    free(p);
    buf_appends(&b, "hello", &e);
    p = buf_detach(&b, &n);
    CHECK_STR(p, "hello");
    CHECK_INT(n, 5);
    CHECK(b.data == NULL);
    free(p);
}

static void test_err_prefix(void)
{
    struct err e;

    err_clear(&e);
    CHECK_INT(err_set(&e, ERR_NET, "connection reset"), -1);
    err_prefix(&e, "downloading '%s'", "x");
    CHECK_STR(e.msg, "downloading 'x': connection reset");
    CHECK_INT(e.code, ERR_NET);
    CHECK_STR(err_code_name(ERR_SCOPE), "scope");
}

int main(void)
{
    RUN(test_append_and_ceiling);
    RUN(test_reserve);
    RUN(test_detach);
    RUN(test_err_prefix);
    return harness_done();
}
