/* Unit tests of the held-lock bookkeeping: recursion, release order, cond waits,
 * re-initialisation, overflow, clears by other threads. */
#include "unit.h"

#include <pthread.h>
#include <sched.h>

#include "track/heldlocks.h"

static struct fa_heldset set;
static const uintptr_t site[1] = {0x1234};

static int setup(void **state)
{
    (void)state;
    memset(&set, 0, sizeof set);
    return 0;
}

static void acquire(const void *addr) { fa_held_acquire(&set, addr, FA_LOCK_MUTEX, 0, 0, site, 1); }

static void lock_and_unlock(void **state)
{
    (void)state;
    int a = 0;
    acquire(&a);
    assert_int_equal(fa_held_count(&set), 1);
    assert_ptr_equal(set.e[0].addr, &a);
    assert_int_equal(set.e[0].depth, 1);
    assert_int_equal(set.e[0].frames[0], 0x1234);
    assert_int_equal(fa_held_release(&set, &a), 1);
    assert_int_equal(fa_held_count(&set), 0);
    /* unlocking something never locked is ignored */
    assert_int_equal(fa_held_release(&set, &a), 0);
}

/* The lock wrapper's two-step acquisition: an entry prepared before the lock is taken is
 * invisible until published, and equal to what fa_held_acquire writes. */
static void prepared_entry_is_published_only_after_the_lock(void **state)
{
    (void)state;
    int a = 0, b = 0;
    struct fa_heldset reference;
    memset(&reference, 0, sizeof reference);
    fa_held_acquire(&reference, &a, FA_LOCK_MUTEX, 2, 0, site, 1);
    uint64_t prepared = fa_held_prepare(&set, &a, FA_LOCK_MUTEX, 2, site[0]);
    assert_int_equal(fa_held_word_count(prepared), 0);
    assert_int_equal(fa_held_count(&set), 0); /* a fork now sees nothing held */
    assert_int_equal(fa_held_publish(&set, prepared), 1);
    assert_int_equal(fa_held_count(&set), 1);
    assert_memory_equal(&set.e[0], &reference.e[0], sizeof set.e[0]);
    /* already held (a recursive mutex): no preparation, the depth is counted after */
    assert_true(fa_held_prepare(&set, &a, FA_LOCK_MUTEX, 1, site[0]) == FA_HELD_UNPREPARED);
    /* a slot that something else used meanwhile (a signal handler's lock) is not published */
    prepared = fa_held_prepare(&set, &b, FA_LOCK_MUTEX, 0, site[0]);
    assert_int_equal(fa_held_word_count(prepared), 1);
    acquire(&a + 1);
    assert_int_equal(fa_held_publish(&set, prepared), 0);
    assert_ptr_equal(set.e[1].addr, &a + 1);
    assert_int_equal(fa_held_count(&set), 2);
}

/* A signal handler that takes and releases a lock between the wrapper's preparation and
 * its publication leaves the count as it was but the slot rewritten with its own lock:
 * the interrupted publication must fail (it published the handler's lock, which nobody
 * held, for good). The same when the handler's lock failed (its entry was written, never
 * published). */
static void publication_fails_after_a_handler_used_the_slot(void **state)
{
    (void)state;
    int l = 0, h = 0;
    uint64_t outer = fa_held_prepare(&set, &l, FA_LOCK_MUTEX, 0, site[0]);
    /* the handler: */
    uint64_t inner = fa_held_prepare(&set, &h, FA_LOCK_MUTEX, 0, site[0]);
    assert_int_equal(fa_held_publish(&set, inner), 1);
    assert_int_equal(fa_held_release_newest(&set, &h), 1);
    /* back in the wrapper */
    assert_int_equal(fa_held_count(&set), 0);
    assert_ptr_equal(set.e[0].addr, &h);
    assert_int_equal(fa_held_publish(&set, outer), 0);
    assert_int_equal(fa_held_count(&set), 0);

    outer = fa_held_prepare(&set, &l, FA_LOCK_MUTEX, 0, site[0]);
    inner = fa_held_prepare(&set, &h, FA_LOCK_MUTEX, 0, site[0]);
    fa_held_unprepare(&set, inner); /* the handler's lock failed */
    assert_int_equal(fa_held_publish(&set, outer), 0);
    /* the wrapper then records its lock the general way */
    acquire(&l);
    assert_int_equal(fa_held_count(&set), 1);
    assert_ptr_equal(set.e[0].addr, &l);
}

/* A reader that loaded the count before the owner released its newest lock and wrote
 * the next one's entry into the same slot sees the word changed: every change of the
 * count, and every move of an entry, changes the word. */
static void every_change_of_the_set_changes_its_word(void **state)
{
    (void)state;
    int a = 0, b = 0, c = 0;
    acquire(&a);
    acquire(&b);
    uint64_t seen = fa_held_word(&set);
    assert_int_equal(fa_held_release_newest(&set, &b), 1);
    uint64_t prepared = fa_held_prepare(&set, &c, FA_LOCK_MUTEX, 0, site[0]);
    assert_ptr_equal(set.e[1].addr, &c); /* where b was */
    assert_true(fa_held_word(&set) != seen);
    assert_int_equal(fa_held_publish(&set, prepared), 1);
    assert_int_equal(fa_held_count(&set), 2);
    assert_true(fa_held_word(&set) != seen); /* same count, another generation */
    seen = fa_held_word(&set);
    assert_int_equal(fa_held_release(&set, &a), 1); /* moves c down */
    assert_true(fa_held_word(&set) != seen);
    assert_int_equal(fa_held_word(&set) & FA_HELD_MOVING, 0);
}

/* The unlock wrapper's one-store release applies to the newest entry taken once only. */
static void newest_release_takes_only_the_simple_case(void **state)
{
    (void)state;
    int a = 0, b = 0;
    assert_int_equal(fa_held_release_newest(&set, &a), 0); /* empty */
    acquire(&a);
    acquire(&b);
    assert_int_equal(fa_held_release_newest(&set, &a), 0); /* not the newest */
    assert_int_equal(fa_held_release_newest(&set, &b), 1);
    assert_int_equal(fa_held_count(&set), 1);
    acquire(&a); /* depth 2 */
    assert_int_equal(fa_held_release_newest(&set, &a), 0);
    assert_int_equal(fa_held_release(&set, &a), 1);
    set.e[0].flags |= FA_HELD_INHERITED; /* the forking thread's, in a child */
    assert_int_equal(fa_held_release_newest(&set, &a), 0);
    assert_int_equal(fa_held_count(&set), 1);
}

static void recursive_locks_count_depth(void **state)
{
    (void)state;
    int a = 0;
    acquire(&a);
    uintptr_t other = 0x9999;
    fa_held_acquire(&set, &a, FA_LOCK_MUTEX, 1, 0, &other, 1);
    assert_int_equal(fa_held_count(&set), 1);
    assert_int_equal(set.e[0].depth, 2);
    assert_int_equal(set.e[0].frames[0], 0x1234); /* first acquisition site kept */
    fa_held_release(&set, &a);
    assert_int_equal(fa_held_count(&set), 1);
    assert_int_equal(set.e[0].depth, 1);
    fa_held_release(&set, &a);
    assert_int_equal(fa_held_count(&set), 0);
}

static void out_of_order_release_keeps_the_others(void **state)
{
    (void)state;
    int a = 0, b = 0, c = 0;
    acquire(&a);
    acquire(&b);
    acquire(&c);
    fa_held_release(&set, &a);
    assert_int_equal(fa_held_count(&set), 2);
    assert_non_null(fa_held_find(&set, &b));
    assert_non_null(fa_held_find(&set, &c));
    assert_null(fa_held_find(&set, &a));
}

static void cond_wait_marks_and_clears(void **state)
{
    (void)state;
    int a = 0;
    acquire(&a);
    fa_held_cond_wait_begin(&set, &a);
    assert_true(fa_held_find(&set, &a)->flags & FA_HELD_IN_COND_WAIT);
    fa_held_cond_wait_end(&set, &a);
    assert_false(fa_held_find(&set, &a)->flags & FA_HELD_IN_COND_WAIT);
}

static void forget_drops_any_depth_and_flagged(void **state)
{
    (void)state;
    int a = 0, b = 0, c = 0;
    acquire(&a);
    acquire(&a);
    fa_held_forget(&set, &a);
    assert_int_equal(fa_held_count(&set), 0);
    fa_held_acquire(&set, &a, FA_LOCK_MUTEX, 0, FA_HELD_BY_PREPARE, site, 1);
    acquire(&b);
    fa_held_acquire(&set, &c, FA_LOCK_MUTEX, 0, FA_HELD_BY_PREPARE, site, 1);
    fa_held_forget_flagged(&set, FA_HELD_BY_PREPARE);
    assert_int_equal(fa_held_count(&set), 1);
    assert_ptr_equal(set.e[0].addr, &b);
}

static void overflow_is_counted_not_written(void **state)
{
    (void)state;
    static char locks[FA_HELD_MAX + 5];
    for (int i = 0; i < FA_HELD_MAX + 5; i++) acquire(&locks[i]);
    assert_int_equal(fa_held_count(&set), FA_HELD_MAX);
    assert_int_equal(set.overflow, 5);
    /* frames are clamped to what an entry holds */
    uintptr_t many[FA_MAX_LOCK_FRAMES + 4] = {0};
    fa_held_release(&set, &locks[0]);
    fa_held_acquire(&set, &set, FA_LOCK_MUTEX, 0, 0, many, FA_MAX_LOCK_FRAMES + 4);
    assert_int_equal(fa_held_find(&set, &set)->nframes, FA_MAX_LOCK_FRAMES);
}

/* Another thread clears a semaphore's entry (sem_post from elsewhere) while the owner
 * swap-removes an entry below it: the clear must never be lost, whichever slot the entry
 * is in at that moment. */
static int lock_a, sem_s;
static int go, stop;

static void wait_while(int *flag, int value)
{
    for (int spins = 0; __atomic_load_n(flag, __ATOMIC_ACQUIRE) == value; spins++)
        if (spins > 1000) sched_yield(); /* lets the test run under valgrind too */
}

static void *poster(void *arg)
{
    (void)arg;
    for (;;) {
        wait_while(&go, 0);
        if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) return NULL;
        fa_held_clear(&set, &sem_s);
        __atomic_store_n(&go, 0, __ATOMIC_RELEASE);
    }
}

static void clear_racing_a_move_is_never_lost(void **state)
{
    (void)state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, poster, NULL), 0);
    long lost = 0;
    for (int i = 0; i < 200000; i++) {
        acquire(&lock_a);                                           /* e[0] */
        fa_held_acquire(&set, &sem_s, FA_LOCK_SEM, 0, 0, site, 1); /* e[1] */
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);                 /* the poster clears e[1]... */
        fa_held_release(&set, &lock_a);                             /* ...while e[1] moves to e[0] */
        wait_while(&go, 1);
        fa_held_compact(&set);
        if (fa_held_find(&set, &sem_s)) lost++;
        fa_held_forget(&set, &sem_s);
        assert_int_equal(fa_held_count(&set), 0);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    assert_int_equal(lost, 0);
}

static void compact_drops_every_cleared_entry(void **state)
{
    (void)state;
    static char locks[6];
    for (int i = 0; i < 6; i++) acquire(&locks[i]);
    for (int i = 0; i < 6; i += 2) assert_int_equal(fa_held_clear(&set, &locks[i]), 1);
    assert_int_equal(fa_held_clear(&set, &locks[0]), 0); /* cleared once only */
    assert_int_equal(fa_held_compact(&set), 3);
    for (int i = 0; i < 6; i++) assert_int_equal(fa_held_find(&set, &locks[i]) != NULL, i % 2);
}

/* A fork from a signal handler may read the set while fa_held_remove has copied the last
 * entry down but not yet emptied its old slot: the reader takes the lower copy only. */
static void a_lock_caught_mid_move_is_read_once(void **state)
{
    (void)state;
    int a = 0, b = 0;
    acquire(&a);
    acquire(&b);
    set.e[0] = set.e[1]; /* the moment between the copy and the old slot's clear */
    assert_false(fa_held_seen_before(&set, 0, &b));
    assert_true(fa_held_seen_before(&set, 1, &b));
    assert_false(fa_held_seen_before(&set, 1, &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(lock_and_unlock, setup),
        cmocka_unit_test_setup(prepared_entry_is_published_only_after_the_lock, setup),
        cmocka_unit_test_setup(publication_fails_after_a_handler_used_the_slot, setup),
        cmocka_unit_test_setup(every_change_of_the_set_changes_its_word, setup),
        cmocka_unit_test_setup(newest_release_takes_only_the_simple_case, setup),
        cmocka_unit_test_setup(recursive_locks_count_depth, setup),
        cmocka_unit_test_setup(out_of_order_release_keeps_the_others, setup),
        cmocka_unit_test_setup(cond_wait_marks_and_clears, setup),
        cmocka_unit_test_setup(forget_drops_any_depth_and_flagged, setup),
        cmocka_unit_test_setup(overflow_is_counted_not_written, setup),
        cmocka_unit_test_setup(clear_racing_a_move_is_never_lost, setup),
        cmocka_unit_test_setup(compact_drops_every_cleared_entry, setup),
        cmocka_unit_test_setup(a_lock_caught_mid_move_is_read_once, setup),
    };
    return cmocka_run_group_tests_name("held locks", tests, NULL, NULL);
}
