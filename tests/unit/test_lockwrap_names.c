/* Unit tests of out/lockwrapper_names.c: which symbol names are lock wrappers (the lock
 * site is their caller) and the range table of track/lockwrappers.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "out/lockwrapper_names.h"
#include "track/lockwrappers.h"

static void wrappers_are_named_as_acquisitions(void **state)
{
    (void)state;
    static const char *const wrappers[] = {
        "_ZNSt5mutex4lockEv",                          /* std::mutex::lock() */
        "_ZNSt10lock_guardISt5mutexEC2ERS0_",          /* std::lock_guard<std::mutex>::lock_guard */
        "_ZNSt11unique_lockISt5mutexE4lockEv",         /* std::unique_lock<std::mutex>::lock() */
        "_ZNSt11shared_lockISt12shared_mutexEC1ERS0_", /* std::shared_lock<...>::shared_lock */
        "_ZNSt12shared_mutex11lock_sharedEv",
        "_ZNSt22__shared_mutex_pthread11lock_sharedEv",
        "_ZL20__gthread_mutex_lockP15pthread_mutex_t",
        "_ZStL23__glibcxx_rwlock_rdlockP16pthread_rwlock_t",
        "_ZN5Mutex4lockEv",
        "_ZN4absl5Mutex4LockEv",
        "_ZN4base4Lock7AcquireEv",
        "_ZN11MutexLockerC2EP5Mutex",
        "_ZSt4lockISt5mutexS0_JEEvRT_RT0_DpRT1_",     /* std::lock(m1, m2) */
        "g_rec_mutex_lock",
        "mutex_lock",
        "spin_lock",
        "xpthread_mutex_lock",
        "lock",
        "ReaderLock",
    };
    for (size_t i = 0; i < sizeof wrappers / sizeof wrappers[0]; i++)
        if (!fa_lockwrap_name(wrappers[i])) fail_msg("%s is a lock wrapper", wrappers[i]);
}

static void others_are_not(void **state)
{
    (void)state;
    static const char *const others[] = {
        "clock_gettime", "flock", "block_read", "deadlocked", "_ZNSt5mutex6unlockEv", "_ZN5Mutex6unlockEv",
        "_ZN5cache9Refresher13refresh_tableEi", "_ZNSt10lock_guardISt5mutexED2Ev", /* the destructor unlocks */
        "pthread_mutex_lock", "__pthread_mutex_lock", "pthread_rwlock_rdlock", "release_lock", "main", "",
        "_ZN4base4Lock7ReleaseEv", "_Z", "_ZN", "worker_holds_table_lock", "lock_table", "table_lock",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (fa_lockwrap_name(others[i])) fail_msg("%s is not a lock wrapper", others[i]);
}

static void ranges_are_found_by_return_address(void **state)
{
    (void)state;
    assert_false(fa_lockwrap_any());
    fa_lockwrap_add(0x5000, 0x5040);
    fa_lockwrap_add(0x1000, 0x1020);
    assert_false(fa_lockwrap_has(0x1010)); /* not published yet */
    assert_int_equal(fa_lockwrap_publish(), 2);
    assert_true(fa_lockwrap_any());
    assert_true(fa_lockwrap_has(0x1001));  /* the call is before the return address */
    assert_true(fa_lockwrap_has(0x1020));  /* a call that ends the function */
    assert_false(fa_lockwrap_has(0x1000));
    assert_false(fa_lockwrap_has(0x1021));
    assert_true(fa_lockwrap_has(0x5040));
    assert_false(fa_lockwrap_has(0x3000));
    fa_lockwrap_add(0x3000, 0x3100); /* after publishing: ignored */
    assert_false(fa_lockwrap_has(0x3010));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wrappers_are_named_as_acquisitions),
        cmocka_unit_test(others_are_not),
        cmocka_unit_test(ranges_are_found_by_return_address),
    };
    return cmocka_run_group_tests_name("lock wrapper names", tests, NULL, NULL);
}
