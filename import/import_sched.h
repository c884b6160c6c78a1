/*
 * import_sched.h - the decisions of the bulk import jobs (import_jobs.c),
 * as pure functions: how many jobs run at once, when each is polled, how
 * long a job is expected to take, what a job's end means for its users,
 * and which user each of its errors is about.
 *
 * Time is a parameter (milliseconds on the tenant's clock, tenant_now_ms);
 * nothing here sleeps, sends or prints, so the tests say "polled at 1050
 * ms" without waiting for it.
 */
#ifndef A0SNAP_IMPORT_SCHED_H
#define A0SNAP_IMPORT_SCHED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMPORT_MAX_IN_FLIGHT 2    /* Auth0's limit of import jobs per tenant */
#define IMPORT_POLL_FIRST_MS 300  /* default first poll interval */
#define IMPORT_POLL_MAX_MS   5000 /* default longest poll interval */

/* How often jobs are polled: the first interval (and the shortest), and
 * the longest. */
struct import_poll_config {
    int64_t first_ms;
    int64_t max_ms;
};

/* The defaults: IMPORT_POLL_FIRST_MS and IMPORT_POLL_MAX_MS. */
void import_poll_config_default(struct import_poll_config *pc);

/* What the scheduler learns while jobs run. */
struct import_sched {
    struct import_poll_config poll;
    int64_t est_job_ms; /* how long a job takes (running average); 0 = unknown */
};

/* One job's times. */
struct import_job_clock {
    int64_t submitted_ms;
    int64_t seen_running_ms; /* the last poll that saw it running */
    int64_t due_ms;          /* the next poll */
    int polls;               /* polls that saw it running */
};

/* A scheduler that knows nothing yet, polling as pc says (copied). */
void import_sched_init(struct import_sched *s, const struct import_poll_config *pc);

/* Whether one more job may be submitted while in_flight run. */
bool import_sched_slot_free(size_t in_flight);

/* When to poll a job next, at time now (the last poll, or its submission).
 * Every poll is a request against the rate limit the grants use too: the
 * first goes when the job is expected to end (the learned duration plus
 * 5%; poll.first_ms while nothing is known), later ones at an interval
 * that starts at a quarter of the learned duration (at least
 * poll.first_ms) and grows by half each time, capped at poll.max_ms. */
int64_t import_sched_next_poll(const struct import_sched *s, const struct import_job_clock *j,
                               int64_t now);

/* A job submitted at now: j set, its first poll due. */
void import_sched_submitted(const struct import_sched *s, struct import_job_clock *j, int64_t now);

/* A poll at now saw the job running: its next poll due. */
void import_sched_running(const struct import_sched *s, struct import_job_clock *j, int64_t now);

/* A poll at now saw the job ended. It ended between the last poll that saw
 * it running and now; the middle of that (at least 1 ms after submission)
 * is the sample, and the estimate moves a quarter of the way to it (the
 * first sample is taken whole). */
void import_sched_ended(struct import_sched *s, const struct import_job_clock *j, int64_t now);

/* Which of the n (>= 1) jobs to poll next: the first one due (the earlier
 * in jobs on a tie). *wait_ms: how long from now until it is due, 0 when
 * it is already. */
size_t import_sched_pick(const struct import_job_clock *const *jobs, size_t n, int64_t now,
                         int64_t *wait_ms);

/* A job's status string means it will not change any more (completed,
 * failed, expired). */
bool import_job_ended(const char *status);

/* What an ended job (GET /jobs/{id}) means for its users. */
enum import_job_verdict {
    IMPORT_JOB_DONE,        /* completed, no user failed: every user exists */
    IMPORT_JOB_SOME_FAILED, /* completed, some failed: read which; the others exist */
    IMPORT_JOB_SPLIT,       /* failed as a whole: read the errors, retry its users in two halves */
    IMPORT_JOB_FAILED,      /* failed as a whole again, or one user: read the errors, all fail */
};

/* generation: 0 for a first try, 1 for a half of a job that failed; users:
 * how many it carries. */
enum import_job_verdict import_job_verdict(const json_t *job, int generation, size_t users);

/* Which half (0 or 1) user i of n goes to when a job is split: the first
 * n/2 users, then the others. */
int import_job_half(size_t i, size_t n);

/* One user a job carries: strings owned by the job. grants holds the
 * user's grant items (import.h), record the import record. */
struct import_job_user {
    char *uid, *email, *grants, *record;
};

/* Whether GET /jobs/{id}/errors answered that the job failed as a whole:
 * anything but an array (a 204 without a body, or the job-object shape). */
bool import_job_errors_whole(const json_t *answer);

/* Which of the job's n users item (one element of the errors array:
 * {"user": {...}, "errors": [{"code","message"}]}) is about: the user whose
 * user_id equals the item's (with or without the "auth0|" part), else the
 * user with its email (case-insensitively); -1 when none. */
long import_job_error_user(const json_t *item, const struct import_job_user *users, size_t n);

/* The report's reason for item: "import job 'ID': CODE: message" (ERROR
 * and "no message" when absent), cut to fit len. */
void import_job_error_reason(const json_t *item, const char *job_id, char *out, size_t len);

#endif
