/*
 * import_sched.c - see import_sched.h. No I/O, no clock: every time comes
 * in as a parameter.
 */
#include "import_sched.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void import_poll_config_default(struct import_poll_config *pc)
{
    pc->first_ms = IMPORT_POLL_FIRST_MS;
    pc->max_ms = IMPORT_POLL_MAX_MS;
}

void import_sched_init(struct import_sched *s, const struct import_poll_config *pc)
{
    memset(s, 0, sizeof(*s));
    s->poll = *pc;
}

bool import_sched_slot_free(size_t in_flight)
{
    return in_flight < IMPORT_MAX_IN_FLIGHT;
}

int64_t import_sched_next_poll(const struct import_sched *s, const struct import_job_clock *j,
                               int64_t now)
{
    int64_t first = s->poll.first_ms, max = s->poll.max_ms, step;

    if (j->polls == 0)
        return j->submitted_ms + (s->est_job_ms ? s->est_job_ms * 21 / 20 : first);
    step = s->est_job_ms / 4 > first ? s->est_job_ms / 4 : first;
    for (int i = 1; i < j->polls && step < max; i++)
        step = step * 3 / 2;
    return now + (step < max ? step : max);
}

void import_sched_submitted(const struct import_sched *s, struct import_job_clock *j, int64_t now)
{
    j->submitted_ms = j->seen_running_ms = now;
    j->polls = 0;
    j->due_ms = import_sched_next_poll(s, j, now);
}

void import_sched_running(const struct import_sched *s, struct import_job_clock *j, int64_t now)
{
    j->seen_running_ms = now;
    j->polls++;
    j->due_ms = import_sched_next_poll(s, j, now);
}

void import_sched_ended(struct import_sched *s, const struct import_job_clock *j, int64_t now)
{
    int64_t took = (j->seen_running_ms + now) / 2 - j->submitted_ms;

    if (took < 1)
        took = 1;
    s->est_job_ms = s->est_job_ms ? (s->est_job_ms * 3 + took) / 4 : took;
}

size_t import_sched_pick(const struct import_job_clock *const *jobs, size_t n, int64_t now,
                         int64_t *wait_ms)
{
    size_t i = 0;

    for (size_t k = 1; k < n; k++)
        if (jobs[k]->due_ms < jobs[i]->due_ms)
            i = k;
    *wait_ms = jobs[i]->due_ms > now ? jobs[i]->due_ms - now : 0;
    return i;
}

bool import_job_ended(const char *status)
{
    return status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                      strcmp(status, "expired") == 0);
}

enum import_job_verdict import_job_verdict(const json_t *job, int generation, size_t users)
{
    const char *status = json_string_value(json_object_get(job, "status"));
    json_int_t failed =
        json_integer_value(json_object_get(json_object_get(job, "summary"), "failed"));

    if (status && strcmp(status, "completed") == 0)
        return failed == 0 ? IMPORT_JOB_DONE : IMPORT_JOB_SOME_FAILED;
    return generation == 0 && users > 1 ? IMPORT_JOB_SPLIT : IMPORT_JOB_FAILED;
}

int import_job_half(size_t i, size_t n)
{
    return i < n / 2 ? 0 : 1;
}

bool import_job_errors_whole(const json_t *answer)
{
    return !json_is_array(answer);
}

long import_job_error_user(const json_t *item, const struct import_job_user *users, size_t n)
{
    const json_t *user = json_object_get(item, "user");
    const char *id = json_string_value(json_object_get(user, "user_id"));
    const char *email = json_string_value(json_object_get(user, "email"));

    for (size_t i = 0; id && i < n; i++) {
        const char *u = users[i].uid;
        const char *bare = strchr(u, '|') ? strchr(u, '|') + 1 : u;
        if (strcmp(id, u) == 0 || strcmp(id, bare) == 0)
            return (long)i;
    }
    for (size_t i = 0; email && i < n; i++)
        if (strcasecmp(users[i].email, email) == 0)
            return (long)i;
    return -1;
}

void import_job_error_reason(const json_t *item, const char *job_id, char *out, size_t len)
{
    const json_t *first = json_array_get(json_object_get(item, "errors"), 0);
    const char *code = json_string_value(json_object_get(first, "code"));
    const char *message = json_string_value(json_object_get(first, "message"));

    snprintf(out, len, "import job '%s': %s: %s", job_id, code ? code : "ERROR",
             message ? message : "no message");
}
