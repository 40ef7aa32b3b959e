/* harness.h: run a program under libforkaudit.so and read back its JSON records.
 * cmocka does not fork, so each run forks a child that only execs; the parent waits with
 * a deadline (a pidfd and poll), so a hang fails the test instead of blocking it. */
#ifndef FA_HARNESS_H
#define FA_HARNESS_H

#include <jansson.h>
#include <sys/types.h>

struct fa_run {
    int exited;          /* 1: exited normally with `status` */
    int status;
    int signal;          /* terminating signal, 0 if none */
    int timed_out;       /* 1: killed at the deadline */
    json_t *records;     /* every record of every process, in log order per process */
    char *out;           /* the program's stdout (NUL-terminated) */
    char *err;           /* the program's stderr */
    char dir[256];       /* run directory holding the logs */
};

/* The whole file at `path`, NUL-terminated, to free(); "" when it cannot be read. */
char *fa_read_file(const char *path);
/* Absolute path of a file in the build directory ("libforkaudit.so", "tests/progs/x"). */
const char *fa_build_path(const char *rel);

/* Runs argv[0..] (argv[0] a path) with LD_PRELOAD=<build>/libforkaudit.so and
 * FORKAUDIT_OPTIONS="format=json:log_path=<dir>/log.%p" followed by ":extra_options"
 * when not NULL. `preload` NULL means the library alone; "" runs unaudited. Waits at most
 * deadline_s seconds, then kills the process group. Returns 0 when the run happened
 * (whatever its outcome); records that are not valid JSON fail the test (unless the
 * extra options ask for format=text: then `records` stays empty). */
int fa_run_audited(struct fa_run *r, const char *const argv[], const char *extra_options, int deadline_s);
void fa_run_free(struct fa_run *r);

/* The same run with another LD_PRELOAD list, in order: the word "forkaudit" stands for the
 * library, other items are paths ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2:forkaudit").
 * A list without "forkaudit" (or "") runs the program unaudited, without FORKAUDIT_OPTIONS;
 * its records are then empty. */
int fa_run_preloaded(struct fa_run *r, const char *const argv[], const char *preload, const char *extra, int deadline_s);
/* The program unaudited: nothing preloaded (except FORKAUDIT_TEST_PRELOAD, a sanitizer runtime). */
int fa_run_plain(struct fa_run *r, const char *const argv[], int deadline_s);
/* Fails the test unless both runs ended the same way (exit status or signal) and wrote the
 * same stdout and stderr: the auditor must not change what the program does. */
void fa_assert_same_behaviour(const struct fa_run *plain, const struct fa_run *audited);

/* The same in two steps, for servers: start (stdout goes to the pipe *out_fd when
 * out_fd is not NULL), then wait with a deadline and collect. */
pid_t fa_spawn_audited(struct fa_run *r, const char *const argv[], const char *extra_options, int *out_fd);
void fa_finish(struct fa_run *r, pid_t pid, const char *extra_options, int deadline_s);
/* Reads from fd until a line containing `text` arrives; 0 on success, -1 on EOF/deadline. */
int fa_wait_for_line(int fd, const char *text, int deadline_s);
/* Absolute path of `prog` found in PATH, or NULL. */
const char *fa_which(const char *prog);

/* Records of one kind. */
int fa_count_kind(json_t *records, const char *kind);
/* The nth (from 0) record of `kind`, or NULL. */
json_t *fa_find_kind(json_t *records, const char *kind, int nth);
/* 1 when a frame of the array `frames` has function `name`. */
int fa_frames_have(json_t *frames, const char *name);
/* Integer printed as "key=N" on the program's stdout, or -1. */
long fa_out_value(const struct fa_run *r, const char *key);
/* The number of the key in an object, or -1 when absent / not an integer. */
long long fa_int(json_t *obj, const char *key);
const char *fa_str(json_t *obj, const char *key);

#endif
