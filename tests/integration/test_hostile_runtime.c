/* Hostile runtimes: the auditor under other allocators (jemalloc, tcmalloc, preloaded
 * before and after it) and stacks it cannot walk whole (a library without unwind tables,
 * a 10,000-frame recursion, a thread near the end of a 64 KiB stack). Each test compares
 * the program's behaviour with an unaudited run and checks the records are complete. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define DEADLINE 30

static const char *const allocators[] = {
    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",  /* Debian libjemalloc2 */
    "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",  /* Debian libgoogle-perftools4 */
};

/* stdout keys whose values change from run to run (pids, tids, addresses). */
static const char *const volatile_keys[] = {"worker_tid", "main_tid", "lock_addr", "child", "second", "main",
                                            "worker-a",   "worker-b", "deaf",      "raw",   "fork_child"};

static int is_volatile(const char *key, size_t len)
{
    for (size_t i = 0; i < sizeof volatile_keys / sizeof volatile_keys[0]; i++)
        if (strlen(volatile_keys[i]) == len && strncmp(volatile_keys[i], key, len) == 0) return 1;
    return 0;
}

static int compare_strings(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* stdout with the values of volatile keys replaced by "*", its lines sorted: threads print
 * their own lines in whatever order they run (caller frees). */
static char *stable_output(const char *out)
{
    char *copy = strdup(out), *lines[4096];
    size_t n = 0;
    for (char *line = strtok(copy, "\n"); line && n < 4096; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (eq && is_volatile(line, (size_t)(eq - line))) strcpy(eq + 1, "*");
        lines[n++] = line;
    }
    qsort(lines, n, sizeof lines[0], compare_strings);
    char *all = malloc(strlen(out) + 2 * n + 2), *w = all;
    for (size_t i = 0; i < n; i++) w = stpcpy(stpcpy(w, lines[i]), "\n");
    *w = 0;
    free(copy);
    return all;
}

/* fa_assert_same_behaviour, with pids, tids and addresses of stdout masked. */
static void assert_same_behaviour_masked(const struct fa_run *plain, const struct fa_run *audited)
{
    struct fa_run a = *plain, b = *audited;
    a.out = stable_output(plain->out);
    b.out = stable_output(audited->out);
    fa_assert_same_behaviour(&a, &b);
    free(a.out);
    free(b.out);
}

/* The stdout key whose value is `v` ("worker_tid"), or NULL. */
static const char *role_of(const struct fa_run *r, long long v)
{
    static char key[64];
    for (const char *p = r->out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *eq = strchr(p, '=');
        const char *nl = strchr(p, '\n');
        if (!eq || (nl && eq > nl) || eq - p >= (long)sizeof key) continue;
        if (strtoll(eq + 1, NULL, 10) != v) continue;
        memcpy(key, p, (size_t)(eq - p));
        key[eq - p] = 0;
        return key;
    }
    return NULL;
}

static int in(const char *key, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(key, *set) == 0) return 1;
    return 0;
}

/* A record with what differs between runs replaced by what it stands for: pids and tids
 * by the stdout key that printed them ("worker_tid"), addresses likewise, pcs dropped
 * (the load addresses move; module+offset stay), pipe and socket inode numbers dropped,
 * and other threads' stacks at the fork (a racing snapshot of a waiting thread) reduced
 * to their presence. */
static void normalize(json_t *v, const struct fa_run *r)
{
    static const char *const ids[] = {"pid", "ppid", "tid", "child_pid", "holder_tid", "fd", NULL};
    static const char *const racy[] = {"stack_at_fork", "holder_stack_at_fork", NULL};
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) normalize(e, r);
        return;
    }
    if (!json_is_object(v)) return;
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe(v, tmp, key, val)
    {
        if (strcmp(key, "pc") == 0) {
            json_object_del(v, key);
        } else if (in(key, racy)) {
            json_object_set_new(v, key, json_string("present"));
        } else if (in(key, ids) && json_is_integer(val)) {
            const char *role = role_of(r, json_integer_value(val));
            if (role) json_object_set_new(v, key, json_string(role));
            /* descriptor numbers shift under tcmalloc, whose libunwind pipe comes first */
            else json_object_set_new(v, key, json_string(strcmp(key, "fd") == 0 ? "some-fd" : "some-id"));
        } else if (strcmp(key, "addr") == 0 && json_is_string(val)) {
            const char *role = role_of(r, strtoll(json_string_value(val), NULL, 16));
            json_object_set_new(v, key, json_string(role ? role : "some-addr"));
        } else if (strcmp(key, "target") == 0 && json_is_string(val) &&
                   (strncmp(json_string_value(val), "pipe:[", 6) == 0 ||
                    strncmp(json_string_value(val), "socket:[", 8) == 0)) {
            char kind[16];
            snprintf(kind, sizeof kind, "%.*s", (int)strcspn(json_string_value(val), ":"), json_string_value(val));
            json_object_set_new(v, key, json_string(kind));
        } else {
            normalize(val, r);
        }
    }
}

/* Every record of the run, normalized, sorted (logs of several processes interleave
 * in no fixed order), one per line (caller frees). */
static char *record_set(const struct fa_run *r)
{
    size_t n = json_array_size(r->records), len = 1;
    char **lines = calloc(n + 1, sizeof *lines);
    for (size_t i = 0; i < n; i++) {
        json_t *copy = json_deep_copy(json_array_get(r->records, i));
        normalize(copy, r);
        lines[i] = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
        len += strlen(lines[i]) + 1;
        json_decref(copy);
    }
    qsort(lines, n, sizeof *lines, compare_strings);
    char *all = malloc(len), *w = all;
    for (size_t i = 0; i < n; i++) {
        w = stpcpy(stpcpy(w, lines[i]), "\n");
        free(lines[i]);
    }
    *w = 0;
    free(lines);
    return all;
}

struct prog {
    const char *name;
    const char *arg1, *arg2; /* "DIR": a directory of the test's own */
    const char *options;
    int min_records;        /* at least this many records with glibc's malloc */
};

static const struct prog progs[] = {
    {"lock_held_by_worker", NULL, NULL, "stack_signal=61", 3},
    {"fds", "DIR", NULL, NULL, 1},
    {"rng", NULL, NULL, NULL, 4},
    {"threads_mixed", NULL, NULL, "stack_signal=61", 1},
    {"fork_many", NULL, NULL, NULL, 400},
    {"inherited_lock", NULL, NULL, NULL, 3},
    {"daemon_fork", "DIR", NULL, NULL, 2},
    {"exec_leaks", "DIR", "execve", NULL, 1},
};

static int installed(const char *path) { return access(path, R_OK) == 0; }

/* One program: unaudited and audited with glibc's malloc, then with each allocator
 * unaudited, before the auditor and after it. */
static void run_under_allocators(const struct prog *p)
{
    char dir[] = "/tmp/forkaudit-alloc.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char daemon_marker[300];
    snprintf(daemon_marker, sizeof daemon_marker, "%s/daemon", dir);
    const char *arg1 = p->arg1 && strcmp(p->arg1, "DIR") == 0
                           ? (strcmp(p->name, "daemon_fork") == 0 ? daemon_marker : dir)
                           : p->arg1;
    const char *argv[] = {NULL, arg1, p->arg2, NULL};
    char prog_path[300];
    snprintf(prog_path, sizeof prog_path, "tests/progs/%s", p->name);
    argv[0] = fa_build_path(prog_path);

    struct fa_run plain, ref;
    assert_int_equal(fa_run_plain(&plain, argv, DEADLINE), 0);
    assert_int_equal(fa_run_audited(&ref, argv, p->options, DEADLINE), 0);
    assert_same_behaviour_masked(&plain, &ref);
    if (json_array_size(ref.records) < (size_t)p->min_records)
        fail_msg("%s: %zu records with glibc malloc, expected at least %d", p->name, json_array_size(ref.records),
                 p->min_records);
    char *expect = record_set(&ref);

    for (size_t a = 0; a < sizeof allocators / sizeof allocators[0]; a++) {
        const char *lib = allocators[a];
        if (!installed(lib)) {
            print_message("SKIP %s under %s: not installed (Debian package %s)\n", p->name, lib,
                          strstr(lib, "jemalloc") ? "libjemalloc2" : "libgoogle-perftools4");
            continue;
        }
        struct fa_run alloc_plain;
        char before[600], after[600];
        snprintf(before, sizeof before, "%s:forkaudit", lib);
        snprintf(after, sizeof after, "forkaudit:%s", lib);
        assert_int_equal(fa_run_preloaded(&alloc_plain, argv, lib, NULL, DEADLINE), 0);
        const char *orders[] = {before, after};
        for (int o = 0; o < 2; o++) {
            struct fa_run r;
            assert_int_equal(fa_run_preloaded(&r, argv, orders[o], p->options, DEADLINE), 0);
            if (r.timed_out) fail_msg("%s with LD_PRELOAD %s: hung", p->name, orders[o]);
            assert_same_behaviour_masked(&alloc_plain, &r);
            char *got = record_set(&r);
            if (strcmp(expect, got) != 0 && getenv("FA_DEBUG_DIFF")) {
                FILE *f = fopen("/tmp/fa-expect.txt", "w");
                fputs(expect, f);
                fclose(f);
                f = fopen("/tmp/fa-got.txt", "w");
                fputs(got, f);
                fclose(f);
            }
            if (strcmp(expect, got) != 0)
                fail_msg("%s with LD_PRELOAD %s: records differ from glibc malloc's\n--- glibc\n%s\n--- %s\n%s",
                         p->name, orders[o], expect, lib, got);
            free(got);
            fa_run_free(&r);
        }
        fa_run_free(&alloc_plain);
    }
    free(expect);
    fa_run_free(&ref);
    fa_run_free(&plain);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void other_allocators_change_no_record(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) run_under_allocators(&progs[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(other_allocators_change_no_record),
    };
    return cmocka_run_group_tests_name("hostile runtimes (integration)", tests, NULL, NULL);
}
