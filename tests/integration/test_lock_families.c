/* The lock-family matrix: every family of preload/track/locks.def, through every function
 * its rows name, runs tests/progs/lock_matrix in the same scenarios (held by another
 * thread at the fork, held by the forking thread (an owner-checked kind too, for the
 * families with mutex kind bits), released inside a condition wait, a failed try, a
 * timed-out lock, an init or destroy that frees it); the records are parsed back and
 * checked against the row. A row added to locks.def is run here without a line of this
 * file changing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define DEADLINE 20
#define CHILD_EXIT 42 /* on_child_deadlock=exit:42: a child about to hang ends with it */
#define UNKNOWN 77    /* lock_matrix has no case for the family or the function */

struct family {
    const char *id, *name, *kind_bits;
};
static const struct family families[] = {
#define FA_LOCK_FAMILY(ID, value, name, kind_bits, owner, relock_inherited, relock_own) {#ID, name, #kind_bits},
#include "track/locks.def"
};

struct function {
    const char *id, *role, *mode, *name;
};
static const struct function functions[] = {
#define FA_LOCK_FN(ID, role, mode, fn, ver) {#ID, #role, #mode, #fn},
#include "track/locks.def"
};

#define FA_STR_(x) #x
#define FA_STR(x) FA_STR_(x)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct family *family_of(const struct function *f)
{
    for (size_t i = 0; i < COUNT(families); i++)
        if (strcmp(families[i].id, f->id) == 0) return &families[i];
    fail_msg("locks.def: %s names no family", f->name);
    return NULL;
}

static const char *family_name(const struct function *f) { return family_of(f)->name; }

static int acquires(const struct function *f)
{
    return strcmp(f->role, "LOCK") == 0 || strcmp(f->role, "TRYLOCK") == 0 || strcmp(f->role, "TIMED") == 0 ||
           strcmp(f->role, "CLOCK") == 0;
}

/* One run of lock_matrix; `what` names it in failure messages. */
struct matrix_run {
    struct fa_run r;
    char what[160];
    long main_tid, worker_tid;
    unsigned long long lock;
};

#define EXPECT(m, cond)                                                   \
    do {                                                                  \
        if (!(cond)) fail_msg("%s: expected %s", (m)->what, #cond);       \
    } while (0)

static void run_matrix(struct matrix_run *m, const struct function *f, const char *scenario)
{
    snprintf(m->what, sizeof m->what, "lock_matrix %s %s %s", family_name(f), scenario, f->name);
    const char *argv[] = {fa_build_path("tests/progs/lock_matrix"), family_name(f), scenario, f->name, NULL};
    assert_int_equal(fa_run_audited(&m->r, argv, "on_child_deadlock=exit:" FA_STR(CHILD_EXIT), DEADLINE), 0);
    if (m->r.exited && m->r.status == UNKNOWN)
        fail_msg("%s: tests/progs/lock_matrix.c has no case for this locks.def row: add one", m->what);
    EXPECT(m, !m->r.timed_out);
    EXPECT(m, m->r.exited && m->r.status == 0);
    m->main_tid = fa_out_value(&m->r, "main_tid");
    m->worker_tid = fa_out_value(&m->r, "worker_tid");
    m->lock = (unsigned long long)fa_out_value(&m->r, "lock");
}
/* The records of `kind` written by process `pid` about the matrix's lock; the last one
 * found goes to *out. */
static int lock_records(const struct matrix_run *m, const char *kind, long pid, json_t **out)
{
    int n = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(m->r.records, i, rec) {
        if (strcmp(fa_str(rec, "kind") ? fa_str(rec, "kind") : "", kind) != 0) continue;
        if (pid > 0 && fa_int(rec, "pid") != pid) continue;
        const char *addr = fa_str(json_object_get(rec, "lock"), "addr");
        if (!addr || strtoull(addr, NULL, 16) != m->lock) continue;
        n++;
        if (out) *out = rec;
    }
    return n;
}

/* The parent's one record of the lock held at the fork, with the row's type. */
static json_t *held_at_fork(const struct matrix_run *m, const struct function *f)
{
    json_t *rec = NULL;
    EXPECT(m, lock_records(m, "lock-held-at-fork", m->main_tid, &rec) == 1);
    json_t *lock = json_object_get(rec, "lock");
    EXPECT(m, strcmp(fa_str(lock, "type"), family_name(f)) == 0);
    EXPECT(m, fa_int(rec, "tid") == m->main_tid);
    return rec;
}

static void held_by_another_thread(void **state)
{
    (void)state;
    int runs = 0;
    for (size_t i = 0; i < COUNT(functions); i++) {
        const struct function *f = &functions[i];
        if (!acquires(f)) continue;
        struct matrix_run m;
        run_matrix(&m, f, "worker");
        json_t *rec = held_at_fork(&m, f), *lock = json_object_get(rec, "lock");
        EXPECT(&m, strcmp(fa_str(rec, "severity"), "error") == 0);
        EXPECT(&m, fa_int(lock, "holder_tid") == m.worker_tid);
        EXPECT(&m, json_is_false(json_object_get(lock, "holder_is_forking_thread")));
        EXPECT(&m, fa_frames_have(json_object_get(lock, "acquired_at"), "take_lock"));
        if (strcmp(f->id, "RWLOCK") == 0)
            EXPECT(&m, strcmp(fa_str(lock, "mode"), strcmp(f->mode, "SHARED") == 0 ? "read" : "write") == 0);
        /* the child's blocking lock is caught before it hangs */
        json_t *dl = NULL;
        EXPECT(&m, lock_records(&m, "child-deadlock", 0, &dl) == 1);
        EXPECT(&m, strcmp(fa_str(dl, "severity"), "error") == 0);
        EXPECT(&m, fa_int(json_object_get(dl, "lock"), "holder_tid") == m.worker_tid);
        EXPECT(&m, strcmp(fa_str(dl, "action"), "exit") == 0);
        EXPECT(&m, fa_out_value(&m.r, "child_status") == CHILD_EXIT);
        fa_run_free(&m.r);
        runs++;
    }
    assert_true(runs >= (int)COUNT(families));
}

static void held_by_the_forking_thread(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(functions); i++) {
        const struct function *f = &functions[i];
        if (!acquires(f)) continue;
        struct matrix_run m;
        run_matrix(&m, f, "self");
        json_t *rec = held_at_fork(&m, f), *lock = json_object_get(rec, "lock");
        /* the default kinds are not owner-checked: the child could unlock them */
        EXPECT(&m, strcmp(fa_str(rec, "severity"), "warning") == 0);
        EXPECT(&m, fa_int(lock, "holder_tid") == m.main_tid);
        EXPECT(&m, json_is_true(json_object_get(lock, "holder_is_forking_thread")));
        EXPECT(&m, lock_records(&m, "child-deadlock", 0, NULL) == 0);
        EXPECT(&m, fa_out_value(&m.r, "child_status") == 0);
        fa_run_free(&m.r);
    }
}

/* A recursive mutex (of a family with mutex kind bits) the forking thread held: glibc
 * checks its owner, so the child can neither unlock it nor take it again: an error, and
 * the child's lock is caught. */
static void owner_checked_held_by_the_forking_thread(void **state)
{
    (void)state;
    int runs = 0;
    for (size_t i = 0; i < COUNT(functions); i++) {
        const struct function *f = &functions[i];
        if (strcmp(f->role, "LOCK") != 0 || strcmp(family_of(f)->kind_bits, "MUTEX") != 0) continue;
        struct matrix_run m;
        run_matrix(&m, f, "self-recursive");
        json_t *rec = held_at_fork(&m, f), *lock = json_object_get(rec, "lock");
        EXPECT(&m, strcmp(fa_str(rec, "severity"), "error") == 0);
        EXPECT(&m, strcmp(fa_str(lock, "mutex_type"), "recursive") == 0);
        EXPECT(&m, json_is_true(json_object_get(lock, "holder_is_forking_thread")));
        json_t *dl = NULL;
        EXPECT(&m, lock_records(&m, "child-deadlock", 0, &dl) == 1);
        EXPECT(&m, fa_int(json_object_get(dl, "lock"), "holder_tid") == m.main_tid);
        EXPECT(&m, fa_out_value(&m.r, "child_status") == CHILD_EXIT);
        fa_run_free(&m.r);
        runs++;
    }
    assert_true(runs >= 2);
}

/* A lock released inside its condition wait is free at the fork: no finding, and the
 * child takes it. */
static void released_inside_a_condition_wait(void **state)
{
    (void)state;
    int runs = 0;
    for (size_t i = 0; i < COUNT(functions); i++) {
        const struct function *f = &functions[i];
        if (strcmp(f->role, "COND_WAIT") != 0) continue;
        struct matrix_run m;
        run_matrix(&m, f, "condwait");
        EXPECT(&m, fa_count_kind(m.r.records, "threads-at-fork") == 1); /* the fork was audited */
        EXPECT(&m, lock_records(&m, "lock-held-at-fork", 0, NULL) == 0);
        EXPECT(&m, lock_records(&m, "child-deadlock", 0, NULL) == 0);
        EXPECT(&m, fa_out_value(&m.r, "child_status") == 0);
        fa_run_free(&m.r);
        runs++;
    }
    assert_true(runs >= 2);
}

/* A try that failed or a timed lock that timed out holds nothing: only the worker's hold
 * is reported. */
static void failed_attempts_hold_nothing(const char *scenario, const char *role1, const char *role2)
{
    int runs = 0;
    for (size_t i = 0; i < COUNT(functions); i++) {
        const struct function *f = &functions[i];
        if (strcmp(f->role, role1) != 0 && strcmp(f->role, role2) != 0) continue;
        struct matrix_run m;
        run_matrix(&m, f, scenario);
        EXPECT(&m, fa_out_value(&m.r, "attempt") == 1);
        json_t *lock = json_object_get(held_at_fork(&m, f), "lock");
        EXPECT(&m, fa_int(lock, "holder_tid") == m.worker_tid);
        EXPECT(&m, fa_out_value(&m.r, "child_status") == 0);
        fa_run_free(&m.r);
        runs++;
    }
    assert_true(runs >= (int)COUNT(families) - 1);
}

static void failed_try(void **state)
{
    (void)state;
    failed_attempts_hold_nothing("try", "TRYLOCK", "TRYLOCK");
}

static void timed_out(void **state)
{
    (void)state;
    failed_attempts_hold_nothing("timeout", "TIMED", "CLOCK");
}

/* An init or a destroy frees the lock, whoever held it: the forking thread's lock is
 * reported at its first fork (fork.seq 1) and not at the second, after FUNCTION. */
static void forgotten_by_init_and_destroy(void **state)
{
    (void)state;
    int runs = 0;
    for (size_t i = 0; i < COUNT(functions); i++) {
        const struct function *f = &functions[i];
        if (strcmp(f->role, "INIT") != 0 && strcmp(f->role, "DESTROY") != 0) continue;
        struct matrix_run m;
        run_matrix(&m, f, "forget");
        json_t *rec = held_at_fork(&m, f); /* exactly one */
        EXPECT(&m, fa_int(json_object_get(rec, "fork"), "seq") == 1);
        EXPECT(&m, fa_out_value(&m.r, "child_status") == 0);
        fa_run_free(&m.r);
        runs++;
    }
    assert_true(runs >= 2 * (int)COUNT(families));
}

/* Every family can be taken, released and forgotten. */
static void every_family_is_complete(void **state)
{
    (void)state;
    static const char *const needed[] = {"LOCK", "UNLOCK", "INIT", "DESTROY"};
    for (size_t i = 0; i < COUNT(families); i++)
        for (size_t k = 0; k < COUNT(needed); k++) {
            int found = 0;
            for (size_t j = 0; j < COUNT(functions); j++)
                found |= strcmp(functions[j].id, families[i].id) == 0 && strcmp(functions[j].role, needed[k]) == 0;
            if (!found) fail_msg("locks.def: family %s has no %s function", families[i].name, needed[k]);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_family_is_complete),
        cmocka_unit_test(held_by_another_thread),
        cmocka_unit_test(held_by_the_forking_thread),
        cmocka_unit_test(owner_checked_held_by_the_forking_thread),
        cmocka_unit_test(released_inside_a_condition_wait),
        cmocka_unit_test(failed_try),
        cmocka_unit_test(timed_out),
        cmocka_unit_test(forgotten_by_init_and_destroy),
    };
    return cmocka_run_group_tests_name("lock families (track/locks.def)", tests, NULL, NULL);
}
