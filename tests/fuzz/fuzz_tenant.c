/*
 * fuzz_tenant.c - a whole export (common/dump_*.c over tenant.c, http.c and
 * the snapshot writer) against a tenant whose every answer is the
 * fuzzer's: token answers, connection/role/organization pages, export job
 * objects, the job's gzip NDJSON file, member lists, error bodies and
 * rate-limit headers, all parsed where the programs parse them.
 *
 * A server thread in this process listens on 127.0.0.1 and answers each
 * request from a script (the input):
 *
 *   <options>                          first line: privacy, conn=NAME,
 *                                      user=ID, email=ADDR, query=Q
 *   === METHOD PATH-PREFIX STATUS [gzip]
 *   Header-Name: value                 any number of header lines
 *                                      (a blank line)
 *   body                               up to the next "=== " line
 *
 * A request takes the first unused entry whose method matches and whose
 * prefix starts the request target ("*" matches any); without one it gets
 * a 404. "{{BASE}}" in a body becomes the server's base URL (for job
 * locations); "gzip" compresses the body (for the export file). Every
 * answer closes its connection, so nothing waits on a keep-alive.
 *
 * What must hold:
 *  - a success leaves a snapshot that verifies, with the users reported;
 *  - a failure leaves nothing at the output path and no temp file, and is
 *    classified (never "out of memory", never a local I/O error);
 *  - no message (errors, retries, traces) shows the client secret or a
 *    token the client sent, no request but the token request carries the
 *    secret, and no request outside /api/v2 carries a token (unless the
 *    script itself holds the secret, or the token twice: answers may echo
 *    what the script says).
 *
 * The harness never reaches another host: connect() and getaddrinfo() are
 * replaced here so only the server's own port on loopback can be reached
 * and no name is ever looked up in DNS, whatever URL an answer names.
 */
#include "fuzz_util.h"

#include "dump.h"
#include "http.h"
#include "privacy.h"
#include "pseudonym.h"
#include "snapshot.h"
#include "tenant.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <strings.h>
#include <sys/time.h>

#define FUZZ_TENANT_MAX_INPUT (256u * 1024)
#define FUZZ_MAX_ENTRIES      64
#define FUZZ_MAX_OPTS         4
#define FUZZ_REQ_MAX          (64u * 1024)
#define FUZZ_SECRET           "fuzz-secret-3c9a51e07bd2"
#define FUZZ_DOMAIN           "fuzz-tenant.example.com"
#define FUZZ_BASE_MARK        "{{BASE}}"

/* ---- the network fence ------------------------------------------------- */

static int server_port; /* set once the server listens */

static bool allowed_addr(const struct sockaddr *a, socklen_t len)
{
    if (a->sa_family == AF_UNIX)
        return true;
    if (a->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)a;
        return ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK && ntohs(in->sin_port) == server_port;
    }
    return false; /* IPv6 and anything else: the server only listens on 127.0.0.1 */
}

/* glibc declares connect() with a transparent union under _GNU_SOURCE. */
#if defined(__USE_GNU) && defined(__GNUC__)
#define FUZZ_SOCKADDR(a) ((a).__sockaddr__)
#else
#define FUZZ_SOCKADDR(a) (a)
#endif

/* Replaces libc's connect() for every caller in the process (libcurl
 * included): only the harness's own server can be reached. */
int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    const struct sockaddr *a = FUZZ_SOCKADDR(addr);

    if (!a || !allowed_addr(a, len)) {
        errno = ECONNREFUSED;
        return -1;
    }
    return (int)syscall(SYS_connect, fd, a, len);
}

/* Replaces getaddrinfo(): numeric addresses and "localhost" only, so a
 * host name in a fuzzed URL fails at once instead of asking DNS. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    struct addrinfo h;

    if (!real) {
        *(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
        if (!real)
            return EAI_FAIL;
    }
    if (hints)
        h = *hints;
    else {
        memset(&h, 0, sizeof(h));
        h.ai_family = AF_UNSPEC;
    }
    if (node && strcmp(node, "localhost") != 0)
        h.ai_flags |= AI_NUMERICHOST;
    return real(node, service, &h, res);
}

/* ---- the script -------------------------------------------------------- */

struct entry {
    char method[16];
    char prefix[512];
    int status;
    bool gzip;
    bool used;
    const char *headers; /* raw header lines, \n-separated */
    size_t headers_len;
    const char *body;
    size_t body_len;
};

struct script {
    struct entry entries[FUZZ_MAX_ENTRIES];
    size_t n;
    const char *users[FUZZ_MAX_OPTS], *emails[FUZZ_MAX_OPTS], *conns[FUZZ_MAX_OPTS];
    size_t n_users, n_emails, n_conns;
    const char *query;
    bool privacy;
    char *opts; /* the options line, cut into the strings above */
};

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

static void parse_options(struct script *s, char *line)
{
    char *save = NULL;

    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (strcmp(t, "privacy") == 0)
            s->privacy = true;
        else if (strncmp(t, "user=", 5) == 0 && t[5] && s->n_users < FUZZ_MAX_OPTS)
            s->users[s->n_users++] = t + 5;
        else if (strncmp(t, "email=", 6) == 0 && t[6] && s->n_emails < FUZZ_MAX_OPTS)
            s->emails[s->n_emails++] = t + 6;
        else if (strncmp(t, "conn=", 5) == 0 && t[5] && s->n_conns < FUZZ_MAX_OPTS)
            s->conns[s->n_conns++] = t + 5;
        else if (strncmp(t, "query=", 6) == 0 && t[6])
            s->query = t + 6;
    }
}

/* Cuts the input into the options and the entries; pointers into text. */
static void parse_script(struct script *s, const char *text, size_t len)
{
    const char *p = text, *end = text + len, *le = line_end(p, end);

    memset(s, 0, sizeof(*s));
    s->opts = fuzz_strndup(p, (size_t)(le - p));
    parse_options(s, s->opts);
    p = le < end ? le + 1 : end;
    /* Skip to the first entry. */
    while (p < end && !(end - p >= 4 && memcmp(p, "=== ", 4) == 0))
        p = line_end(p, end) < end ? line_end(p, end) + 1 : end;
    while (p < end && s->n < FUZZ_MAX_ENTRIES) {
        struct entry *en = &s->entries[s->n++];
        char head[600], gz[8] = "";
        const char *next;

        le = line_end(p, end);
        snprintf(head, sizeof(head), "%.*s", (int)(le - p < 599 ? le - p : 599), p);
        en->status = 200;
        snprintf(en->method, sizeof(en->method), "GET");
        snprintf(en->prefix, sizeof(en->prefix), "*");
        (void)sscanf(head, "=== %15s %511s %d %7s", en->method, en->prefix, &en->status, gz);
        en->gzip = strcmp(gz, "gzip") == 0;
        p = le < end ? le + 1 : end;
        /* The body ends where the next entry starts (its \n is not in it). */
        next = p;
        while (next < end && !(end - next >= 4 && memcmp(next, "=== ", 4) == 0))
            next = line_end(next, end) < end ? line_end(next, end) + 1 : end;
        en->headers = p;
        while (p < next && *p != '\n')
            p = line_end(p, next) < next ? line_end(p, next) + 1 : next;
        en->headers_len = (size_t)(p - en->headers);
        if (p < next)
            p++; /* the blank line */
        en->body = p;
        en->body_len = (size_t)(next - p);
        if (en->body_len > 0 && next < end && p[en->body_len - 1] == '\n')
            en->body_len--;
        p = next;
    }
}

/* ---- the server -------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
#define FUZZ_MAX_TOKENS 4

static struct script *current;        /* under lock */
static bool secret_in_script;         /* under lock: the input itself holds it */
static char *bearer[FUZZ_MAX_TOKENS]; /* under lock: tokens the client sent */
static bool trace;
static char base_url[64];

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the client gave up: its problem, reported there */
        p += n;
        len -= (size_t)n;
    }
}

static bool prefix_matches(const char *prefix, const char *target)
{
    return strcmp(prefix, "*") == 0 || strncmp(target, prefix, strlen(prefix)) == 0;
}

/* Builds the answer to one request into b (a growable buffer). */
static void answer(const char *method, const char *target, struct buf *b)
{
    struct entry *en = NULL;
    unsigned char *gz = NULL;
    size_t gz_len = 0;
    struct buf body;
    struct err e;
    int status = 404;

    buf_init(&body, 64u << 20);
    err_clear(&e);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; current && i < current->n; i++) {
        struct entry *c = &current->entries[i];
        if (!c->used && strcmp(c->method, method) == 0 && prefix_matches(c->prefix, target)) {
            en = c;
            en->used = true;
            break;
        }
    }
    if (en) {
        const char *p = en->body, *end = en->body + en->body_len, *m;
        status = en->status < 100 || en->status > 599 || en->status == 101 ? 500 : en->status;
        while ((m = fuzz_memmem(p, (size_t)(end - p), FUZZ_BASE_MARK, strlen(FUZZ_BASE_MARK)))) {
            buf_append(&body, p, (size_t)(m - p), &e);
            buf_appends(&body, base_url, &e);
            p = m + strlen(FUZZ_BASE_MARK);
        }
        buf_append(&body, p, (size_t)(end - p), &e);
        if (en->gzip) {
            fuzz_gzip_append(&gz, &gz_len, body.data ? body.data : "", body.len, 1);
            buf_reset(&body);
            buf_append(&body, gz, gz_len, &e);
            free(gz);
        }
    } else {
        buf_appends(
            &body,
            "{\"statusCode\":404,\"error\":\"Not Found\",\"message\":\"no scripted answer\"}", &e);
    }
    if (trace)
        fprintf(stderr, "fuzz_tenant: %s %s -> %d%s\n", method, target, status,
                en ? "" : " (no entry)");
    buf_appendf(b, &e, "HTTP/1.1 %d Fuzz\r\n", status);
    if (en) {
        const char *p = en->headers, *end = en->headers + en->headers_len;
        while (p < end) {
            const char *le = line_end(p, end);
            size_t n = (size_t)(le - p);
            if (n > 0 && n < 8192 && !memchr(p, '\r', n) && memchr(p, ':', n)) {
                buf_append(b, p, n, &e);
                buf_appends(b, "\r\n", &e);
            }
            p = le < end ? le + 1 : end;
        }
    } else {
        buf_appends(b, "Content-Type: application/json\r\n", &e);
    }
    buf_appendf(b, &e, "Content-Length: %zu\r\nConnection: close\r\n\r\n", body.len);
    buf_append(b, body.data ? body.data : "", body.len, &e);
    pthread_mutex_unlock(&lock);
    buf_release(&body);
    FUZZ_ASSERT(e.code == ERR_NONE);
}

/* Remembers the token of an "Authorization: Bearer X" header value. */
static void note_bearer(const char *v)
{
    size_t n;

    while (*v == ' ')
        v++;
    if (strncasecmp(v, "bearer ", 7) != 0)
        return;
    v += 7;
    n = strcspn(v, "\r\n");
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < FUZZ_MAX_TOKENS; i++) {
        if (bearer[i] && strlen(bearer[i]) == n && strncmp(bearer[i], v, n) == 0)
            break;
        if (!bearer[i]) {
            bearer[i] = fuzz_strndup(v, n);
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

static void serve(int fd)
{
    char *req = malloc(FUZZ_REQ_MAX + 1), method[16] = "", target[8192] = "";
    size_t len = 0;
    const char *head_end = NULL, *auth;
    struct buf out;
    long long clen = 0;
    bool echoed;

    if (!req)
        abort();
    while (len < FUZZ_REQ_MAX) {
        ssize_t n = recv(fd, req + len, FUZZ_REQ_MAX - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = '\0';
        head_end = strstr(req, "\r\n\r\n");
        if (head_end) {
            const char *cl = strcasestr(req, "\r\ncontent-length:");
            clen = cl && cl < head_end ? strtoll(cl + 17, NULL, 10) : 0;
            if ((long long)(len - (size_t)(head_end + 4 - req)) >= clen)
                break;
        }
    }
    if (!head_end) {
        free(req);
        return;
    }
    if (sscanf(req, "%15s %8191s", method, target) != 2) {
        free(req);
        return;
    }
    /* Nothing but the Management API sees the bearer token. */
    auth = strcasestr(req, "\r\nauthorization:");
    if (auth && auth < head_end && strncmp(target, "/api/v2/", 8) != 0) {
        fprintf(stderr, "fuzz_tenant: %s %s carried an Authorization header\n", method, target);
        FUZZ_ASSERT(!"no request outside /api/v2 carries the token");
    }
    if (auth && auth < head_end)
        note_bearer(auth + strlen("\r\nauthorization:"));
    pthread_mutex_lock(&lock);
    echoed = secret_in_script;
    pthread_mutex_unlock(&lock);
    if (!echoed && fuzz_memmem(req, len, FUZZ_SECRET, strlen(FUZZ_SECRET)) &&
        strcmp(target, "/oauth/token") != 0) {
        fprintf(stderr, "fuzz_tenant: %s %s carried the client secret\n", method, target);
        FUZZ_ASSERT(!"only the token request carries the client secret");
    }
    buf_init(&out, 128u << 20);
    answer(method, target, &out);
    send_all(fd, out.data, out.len);
    buf_release(&out);
    free(req);
}

static void *server_main(void *arg)
{
    int lfd = *(int *)arg;

    for (;;) {
        struct timeval tv = {10, 0};
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("fuzz_tenant: accept");
            abort();
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        serve(fd);
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
    return NULL;
}

static void start_server(void)
{
    static int lfd;
    static const char *const proxies[] = {"http_proxy",  "https_proxy", "HTTP_PROXY",
                                          "HTTPS_PROXY", "all_proxy",   "ALL_PROXY",
                                          "no_proxy",    "NO_PROXY",    NULL};
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    pthread_t th;
    struct err e;
    int one = 1;

    for (const char *const *p = proxies; *p; p++)
        unsetenv(*p);
    trace = getenv("A0SNAP_FUZZ_TRACE") != NULL;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        abort();
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 16) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        perror("fuzz_tenant: cannot listen on 127.0.0.1");
        abort();
    }
    server_port = ntohs(a.sin_port);
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", server_port);
    if (pthread_create(&th, NULL, server_main, &lfd) != 0)
        abort();
    pthread_detach(th);
    err_clear(&e);
    if (http_global_init(&e) < 0)
        abort();
}

/* ---- the client side --------------------------------------------------- */

struct run {
    int64_t now_ms;
    bool secret_echoed; /* the script holds the secret: answers may echo it */
    struct buf msgs;    /* every message, each followed by a NUL */
};

static int64_t fake_now(void *ctx)
{
    return ((struct run *)ctx)->now_ms;
}

static void fake_sleep(void *ctx, int64_t ms)
{
    FUZZ_ASSERT(ms >= 0 && ms <= 3600 * 1000);
    ((struct run *)ctx)->now_ms += ms;
}

static void check_message(const struct run *r, const char *msg)
{
    FUZZ_ASSERT(r->secret_echoed || strstr(msg, FUZZ_SECRET) == NULL);
    if (trace)
        fprintf(stderr, "fuzz_tenant: message: %s\n", msg);
}

static void on_notify(void *ctx, int level, const char *msg)
{
    struct run *r = ctx;
    struct err e;

    FUZZ_ASSERT(level == 0 || level == 1);
    check_message(r, msg);
    err_clear(&e);
    if (buf_append(&r->msgs, msg, strlen(msg) + 1, &e) < 0)
        abort();
}

/* No message shows a token the client used, unless the script holds it
 * more than once (an answer may echo what the script put in it). Short
 * tokens are skipped: any text may contain them by chance. */
static void check_tokens(const struct run *r, const uint8_t *data, size_t size)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < FUZZ_MAX_TOKENS && bearer[i]; i++) {
        const char *t = bearer[i], *first;
        size_t n = strlen(t);

        if (n < 16)
            continue;
        first = fuzz_memmem((const char *)data, size, t, n);
        if (first && fuzz_memmem(first + 1, size - (size_t)(first + 1 - (const char *)data), t, n))
            continue;
        for (size_t off = 0; off < r->msgs.len; off += strlen(r->msgs.data + off) + 1) {
            if (strstr(r->msgs.data + off, t)) {
                fprintf(stderr, "fuzz_tenant: the token shows in: %s\n", r->msgs.data + off);
                FUZZ_ASSERT(!"no message shows the token");
            }
        }
    }
    pthread_mutex_unlock(&lock);
}

static size_t dir_entries(const char *dir)
{
    struct dirent *d;
    size_t n = 0;
    DIR *dh = opendir(dir);

    FUZZ_ASSERT(dh != NULL);
    while ((d = readdir(dh)) != NULL)
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
            n++;
    closedir(dh);
    return n;
}

static struct pseudonym_key *key;
static struct privacy_policy *policy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started;
    static char outdir[512], path[600];
    struct tenant_config cfg = {.domain = (char *)FUZZ_DOMAIN,
                                .api_url = base_url,
                                .client_id = (char *)"fuzz-client-id",
                                .client_secret = (char *)FUZZ_SECRET};
    struct tenant_options topt;
    struct dump_request req;
    struct dump_result res;
    struct script *s;
    struct tenant *t = NULL;
    struct run run;
    struct err e;
    int rc;

    if (size > FUZZ_TENANT_MAX_INPUT)
        return 0;
    if (!started) {
        static const unsigned char kb[32] = "a0snap fuzz key, not a secret!!";
        start_server();
        err_clear(&e);
        if (pseudonym_key_from_bytes(&key, kb, sizeof(kb), &e) < 0 ||
            privacy_policy_default(&policy, &e) < 0)
            abort();
        snprintf(outdir, sizeof(outdir), "%s/out", fuzz_tmpdir());
        if (mkdir(outdir, 0700) < 0)
            abort();
        snprintf(path, sizeof(path), "%s/snapshot.ndjson.gz", outdir);
        started = true;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    parse_script(s, (const char *)data, size);
    memset(&run, 0, sizeof(run));
    run.now_ms = 1700000000000LL;
    buf_init(&run.msgs, 64u << 20);
    run.secret_echoed = fuzz_memmem((const char *)data, size, FUZZ_SECRET, strlen(FUZZ_SECRET));

    memset(&topt, 0, sizeof(topt));
    topt.max_attempts = 3;
    topt.stall_timeout_s = 10;
    topt.call_timeout_s = 30;
    topt.max_response = 1u << 20;
    topt.notify = on_notify;
    topt.notify_ctx = &run;
    topt.now_ms = fake_now;
    topt.sleep_ms = fake_sleep;
    topt.clock_ctx = &run;

    memset(&req, 0, sizeof(req));
    req.connections = s->conns;
    req.n_connections = s->n_conns;
    req.users = s->users;
    req.n_users = s->n_users;
    req.emails = s->emails;
    req.n_emails = s->n_emails;
    req.query = s->query;
    req.sort_mem = 1u << 20;
    req.tmpdir = outdir;
    req.force = true;
    dump_result_init(&res);
    err_clear(&e);

    pthread_mutex_lock(&lock);
    current = s;
    secret_in_script = run.secret_echoed;
    pthread_mutex_unlock(&lock);

    rc = tenant_new(&t, &cfg, &topt, &e);
    FUZZ_ASSERT(rc == 0);
    if (s->privacy) {
        /* As a0snap-export does: with the digests the collision check needs. */
        FUZZ_ASSERT(privacy_ctx_new(&req.privacy, policy, key, &e) == 0);
        privacy_ctx_want_src(req.privacy, true);
    }
    rc = dump_tenant(t, &req, path, &res, &e);
    if (trace)
        fprintf(stderr, "fuzz_tenant: dump_tenant: %d %s\n", rc, rc ? e.msg : "");
    if (rc == 0) {
        struct snapshot_summary sum;
        struct err ve;

        err_clear(&ve);
        if (snapshot_verify(path, &sum, &ve) < 0) {
            fprintf(stderr, "fuzz_tenant: the snapshot does not verify: %s\n", ve.msg);
            FUZZ_ASSERT(!"a snapshot dump_tenant wrote verifies");
        }
        FUZZ_ASSERT(sum.users == res.users);
        FUZZ_ASSERT(strcmp(sum.snapshot_id, res.snapshot_id) == 0);
        FUZZ_ASSERT(json_is_object(json_object_get(sum.header, "catalogue")));
        snapshot_summary_release(&sum);
        FUZZ_ASSERT(unlink(path) == 0);
    } else {
        on_notify(&run, 0, e.msg);
        FUZZ_ASSERT(e.msg[0] != '\0');
        if (e.code == ERR_INTERNAL || e.code == ERR_IO || e.code == ERR_NONE) {
            fprintf(stderr, "fuzz_tenant: %s error: %s\n", err_code_name(e.code), e.msg);
            FUZZ_ASSERT(!"a bad answer is an API, network, auth or usage error");
        }
        FUZZ_ASSERT(access(path, F_OK) != 0);
    }
    /* Sort spills and the writer's temp file are gone either way. */
    FUZZ_ASSERT(dir_entries(outdir) == 0);
    check_tokens(&run, data, size);

    pthread_mutex_lock(&lock);
    current = NULL;
    for (size_t i = 0; i < FUZZ_MAX_TOKENS; i++) {
        free(bearer[i]);
        bearer[i] = NULL;
    }
    pthread_mutex_unlock(&lock);
    privacy_ctx_free(req.privacy);
    tenant_free(t);
    dump_result_release(&res);
    buf_release(&run.msgs);
    free(s->opts);
    free(s);
    return 0;
}
