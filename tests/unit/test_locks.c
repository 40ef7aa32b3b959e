/* Unit tests of the lock-family rules generated from track/locks.def: names, mutex kinds,
 * owner checks, and when a forked child's thread blocks forever relocking what it holds
 * (the table audit/childdeadlock.c's self_deadlock hand-wrote before). */
#include "unit.h"

#include <pthread.h>

#include "track/locks.h"

#define ROBUST FA_MUTEX_KIND_ROBUST
#define PI FA_MUTEX_KIND_PI

static void names_are_the_report_values(void **state)
{
    (void)state;
    assert_string_equal(fa_lock_type_name(FA_LOCK_MUTEX), "pthread_mutex");
    assert_string_equal(fa_lock_type_name(FA_LOCK_RWLOCK), "pthread_rwlock");
    assert_string_equal(fa_lock_type_name(FA_LOCK_SPIN), "pthread_spinlock");
    assert_string_equal(fa_lock_type_name(FA_LOCK_SEM), "semaphore");
    assert_string_equal(fa_lock_type_name(FA_LOCK_MTX), "mtx");
    assert_string_equal(fa_lock_type_name(FA_LOCK_NONE), "lock");
    assert_string_equal(fa_lock_type_name(200), "lock");
}

/* The names are glibc's kind values: what the wrappers read from the lock. */
static void kind_bits_are_glibc_s(void **state)
{
    (void)state;
    assert_int_equal(FA_MUTEX_KIND_NORMAL, PTHREAD_MUTEX_NORMAL);
    assert_int_equal(FA_MUTEX_KIND_RECURSIVE, PTHREAD_MUTEX_RECURSIVE);
    assert_int_equal(FA_MUTEX_KIND_ERRORCHECK, PTHREAD_MUTEX_ERRORCHECK);
    assert_int_equal(FA_MUTEX_KIND_ADAPTIVE, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_t m;
    assert_int_equal(pthread_mutex_init(&m, &a), 0);
    assert_int_equal((unsigned)m.__data.__kind & FA_MUTEX_KIND_MASK, FA_MUTEX_KIND_ERRORCHECK | ROBUST);
    pthread_mutex_destroy(&m);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_STALLED);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    assert_int_equal(pthread_mutex_init(&m, &a), 0);
    assert_int_equal((unsigned)m.__data.__kind & FA_MUTEX_KIND_MASK, FA_MUTEX_KIND_ERRORCHECK | PI);
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&a);
}

/* pthread_mutex and mtx are described alike; the others have no kind. */
static void kinds_are_described_alike(void **state)
{
    (void)state;
    static const unsigned types[] = {FA_LOCK_MUTEX, FA_LOCK_MTX};
    for (int i = 0; i < 2; i++) {
        struct fa_lock_kind_desc d = fa_lock_describe_kind(types[i], FA_MUTEX_KIND_RECURSIVE | ROBUST);
        assert_string_equal(d.mutex_type, "recursive");
        assert_true(d.robust);
        assert_false(d.priority_inheritance);
        d = fa_lock_describe_kind(types[i], FA_MUTEX_KIND_ADAPTIVE | PI);
        assert_string_equal(d.mutex_type, "adaptive");
        assert_false(d.robust);
        assert_true(d.priority_inheritance);
        assert_string_equal(fa_lock_describe_kind(types[i], 0).mutex_type, "normal");
        assert_string_equal(fa_lock_describe_kind(types[i], FA_MUTEX_KIND_ERRORCHECK).mutex_type, "errorcheck");
        assert_true(fa_lock_has_mutex_kind(types[i]));
    }
    static const unsigned others[] = {FA_LOCK_NONE, FA_LOCK_RWLOCK, FA_LOCK_SPIN, FA_LOCK_SEM};
    for (int i = 0; i < 4; i++) {
        assert_null(fa_lock_describe_kind(others[i], ROBUST).mutex_type);
        assert_false(fa_lock_has_mutex_kind(others[i]));
    }
}

static void owner_checked_mutexes(void **state)
{
    (void)state;
    static const unsigned types[] = {FA_LOCK_MUTEX, FA_LOCK_MTX};
    for (int i = 0; i < 2; i++) {
        assert_false(fa_held_owner_checked(types[i], FA_MUTEX_KIND_NORMAL));
        assert_false(fa_held_owner_checked(types[i], FA_MUTEX_KIND_ADAPTIVE));
        assert_true(fa_held_owner_checked(types[i], FA_MUTEX_KIND_RECURSIVE));
        assert_true(fa_held_owner_checked(types[i], FA_MUTEX_KIND_ERRORCHECK));
        assert_true(fa_held_owner_checked(types[i], FA_MUTEX_KIND_NORMAL | ROBUST));
        assert_true(fa_held_owner_checked(types[i], FA_MUTEX_KIND_NORMAL | PI));
    }
    /* no kind bits: never, whatever the byte holds */
    static const unsigned others[] = {FA_LOCK_NONE, FA_LOCK_RWLOCK, FA_LOCK_SPIN, FA_LOCK_SEM};
    for (int i = 0; i < 4; i++) assert_false(fa_held_owner_checked(others[i], FA_MUTEX_KIND_RECURSIVE | ROBUST));
}

/* fa_lock_relock_blocks(type, inherited, kind, held_read, for_write, value) */
static void relocking_in_a_child(void **state)
{
    (void)state;
    static const unsigned mutexes[] = {FA_LOCK_MUTEX, FA_LOCK_MTX};
    for (int i = 0; i < 2; i++) {
        unsigned t = mutexes[i];
        /* the forking thread's: its tid is not ours, whatever the kind */
        assert_true(fa_lock_relock_blocks(t, 1, FA_MUTEX_KIND_NORMAL, 0, 1, -1));
        assert_true(fa_lock_relock_blocks(t, 1, FA_MUTEX_KIND_RECURSIVE, 0, 1, -1));
        assert_true(fa_lock_relock_blocks(t, 1, FA_MUTEX_KIND_ERRORCHECK, 0, 1, -1));
        /* our own: recursive nests, errorcheck returns EDEADLK */
        assert_true(fa_lock_relock_blocks(t, 0, FA_MUTEX_KIND_NORMAL, 0, 1, -1));
        assert_true(fa_lock_relock_blocks(t, 0, FA_MUTEX_KIND_ADAPTIVE, 0, 1, -1));
        assert_true(fa_lock_relock_blocks(t, 0, FA_MUTEX_KIND_NORMAL | ROBUST, 0, 1, -1));
        assert_false(fa_lock_relock_blocks(t, 0, FA_MUTEX_KIND_RECURSIVE, 0, 1, -1));
        assert_false(fa_lock_relock_blocks(t, 0, FA_MUTEX_KIND_ERRORCHECK | PI, 0, 1, -1));
    }
    /* read-write locks: inherited readers share, anything else blocks; our own returns */
    assert_false(fa_lock_relock_blocks(FA_LOCK_RWLOCK, 1, 0, 1, 0, -1));
    assert_true(fa_lock_relock_blocks(FA_LOCK_RWLOCK, 1, 0, 1, 1, -1));
    assert_true(fa_lock_relock_blocks(FA_LOCK_RWLOCK, 1, 0, 0, 0, -1));
    assert_false(fa_lock_relock_blocks(FA_LOCK_RWLOCK, 0, 0, 0, 1, -1));
    assert_false(fa_lock_relock_blocks(FA_LOCK_RWLOCK, 0, 0, 1, 0, -1));
    /* spin locks always; semaphores at value 0 */
    assert_true(fa_lock_relock_blocks(FA_LOCK_SPIN, 1, 0, 0, 1, -1));
    assert_true(fa_lock_relock_blocks(FA_LOCK_SPIN, 0, 0, 0, 1, -1));
    for (int inherited = 0; inherited < 2; inherited++) {
        assert_true(fa_lock_relock_blocks(FA_LOCK_SEM, inherited, 0, 0, 1, 0));
        assert_false(fa_lock_relock_blocks(FA_LOCK_SEM, inherited, 0, 0, 1, 1));
    }
    assert_false(fa_lock_relock_blocks(FA_LOCK_NONE, 1, 0, 0, 1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_the_report_values),
        cmocka_unit_test(kind_bits_are_glibc_s),
        cmocka_unit_test(kinds_are_described_alike),
        cmocka_unit_test(owner_checked_mutexes),
        cmocka_unit_test(relocking_in_a_child),
    };
    return cmocka_run_group_tests_name("lock families (track/locks.def)", tests, NULL, NULL);
}
