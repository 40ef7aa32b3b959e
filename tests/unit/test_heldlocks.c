/* Unit tests of the held-lock bookkeeping: recursion, release order, cond waits,
 * re-initialisation, overflow. */
#include "unit.h"

#include "heldlocks.h"

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
    assert_int_equal(set.n, 1);
    assert_ptr_equal(set.e[0].addr, &a);
    assert_int_equal(set.e[0].depth, 1);
    assert_int_equal(set.e[0].frames[0], 0x1234);
    assert_int_equal(fa_held_release(&set, &a), 1);
    assert_int_equal(set.n, 0);
    /* unlocking something never locked is ignored */
    assert_int_equal(fa_held_release(&set, &a), 0);
}

static void recursive_locks_count_depth(void **state)
{
    (void)state;
    int a = 0;
    acquire(&a);
    uintptr_t other = 0x9999;
    fa_held_acquire(&set, &a, FA_LOCK_MUTEX, 1, 0, &other, 1);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.e[0].depth, 2);
    assert_int_equal(set.e[0].frames[0], 0x1234); /* first acquisition site kept */
    fa_held_release(&set, &a);
    assert_int_equal(set.n, 1);
    assert_int_equal(set.e[0].depth, 1);
    fa_held_release(&set, &a);
    assert_int_equal(set.n, 0);
}

static void out_of_order_release_keeps_the_others(void **state)
{
    (void)state;
    int a = 0, b = 0, c = 0;
    acquire(&a);
    acquire(&b);
    acquire(&c);
    fa_held_release(&set, &a);
    assert_int_equal(set.n, 2);
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
    assert_int_equal(set.n, 0);
    fa_held_acquire(&set, &a, FA_LOCK_MUTEX, 0, FA_HELD_BY_PREPARE, site, 1);
    acquire(&b);
    fa_held_acquire(&set, &c, FA_LOCK_MUTEX, 0, FA_HELD_BY_PREPARE, site, 1);
    fa_held_forget_flagged(&set, FA_HELD_BY_PREPARE);
    assert_int_equal(set.n, 1);
    assert_ptr_equal(set.e[0].addr, &b);
}

static void overflow_is_counted_not_written(void **state)
{
    (void)state;
    static char locks[FA_HELD_MAX + 5];
    for (int i = 0; i < FA_HELD_MAX + 5; i++) acquire(&locks[i]);
    assert_int_equal(set.n, FA_HELD_MAX);
    assert_int_equal(set.overflow, 5);
    /* frames are clamped to what an entry holds */
    uintptr_t many[FA_MAX_LOCK_FRAMES + 4] = {0};
    fa_held_release(&set, &locks[0]);
    fa_held_acquire(&set, &set, FA_LOCK_MUTEX, 0, 0, many, FA_MAX_LOCK_FRAMES + 4);
    assert_int_equal(fa_held_find(&set, &set)->nframes, FA_MAX_LOCK_FRAMES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(lock_and_unlock, setup),
        cmocka_unit_test_setup(recursive_locks_count_depth, setup),
        cmocka_unit_test_setup(out_of_order_release_keeps_the_others, setup),
        cmocka_unit_test_setup(cond_wait_marks_and_clears, setup),
        cmocka_unit_test_setup(forget_drops_any_depth_and_flagged, setup),
        cmocka_unit_test_setup(overflow_is_counted_not_written, setup),
    };
    return cmocka_run_group_tests_name("held locks", tests, NULL, NULL);
}
