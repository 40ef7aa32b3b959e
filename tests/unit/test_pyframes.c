/* Unit tests of base/pyframes: a faulthandler dump read back into frames, which frames are
 * the program's own, how far a cut stack reaches, and multiprocessing's own threads. */
#include "unit.h"

#include <string.h>

#include "base/pyframes.h"

static const char dump[] =
    "Thread 0x00007f0000000001 (most recent call first):\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 320 in wait\n"
    "  File \"/usr/lib/python3.11/multiprocessing/pool.py\", line 768 in get\n"
    "  File \"/srv/app/train.py\", line 33 in main\n"
    "\n"
    "Thread 0x00007f0000000002 (most recent call first):\n"
    "  File \"/usr/lib/python3.11/concurrent/futures/thread.py\", line 81 in _worker\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 975 in run\n"
    "\n"
    "Current thread 0x00007f0000000003 (most recent call first):\n"
    "  File \"/usr/lib/python3.11/multiprocessing/popen_fork.py\", line 66 in _launch\n"
    "  File \"/usr/lib/python3.11/multiprocessing/process.py\", line 121 in start\n"
    "  File \"/usr/lib/python3.11/multiprocessing/pool.py\", line 329 in _repopulate_pool_static\n"
    "  File \"/srv/app/train.py\", line 30 in main\n"
    "  File \"/srv/app/train.py\", line 40 in <module>\n";

static int parse(unsigned long self, struct fa_py_frame *f)
{
    return fa_pyframes_parse(dump, sizeof dump - 1, self, "/usr/lib/python3.11", f, FA_PY_MAX_FRAMES);
}

static void sections_are_read_innermost_first(void **state)
{
    (void)state;
    struct fa_py_frame f[FA_PY_MAX_FRAMES];
    assert_int_equal(parse(0, f), 5); /* 0: the current thread */
    assert_int_equal(f[0].line, 66);
    assert_memory_equal(f[0].function, "_launch", 7);
    assert_false(f[0].own);
    assert_true(f[3].own);
    assert_int_equal(f[3].line, 30);
    assert_int_equal(parse(0x7f0000000002UL, f), 2);
    assert_int_equal(parse(0x7f0000000009UL, f), 0);
}

static void a_cut_stack_reaches_the_programs_own_frame(void **state)
{
    (void)state;
    struct fa_py_frame f[FA_PY_MAX_FRAMES];
    int n = parse(0, f);
    assert_int_equal(fa_pyframes_depth(f, n, 2), 4);  /* down to train.py:30 */
    assert_int_equal(fa_pyframes_depth(f, n, 4), 4);  /* already there */
    assert_int_equal(fa_pyframes_depth(f, n, 16), 5); /* all of them */
    n = parse(0x7f0000000002UL, f);
    assert_int_equal(fa_pyframes_depth(f, n, 1), 1); /* no own frame: the depth asked */
}

static void multiprocessings_own_threads_are_told_apart(void **state)
{
    (void)state;
    struct fa_py_frame f[FA_PY_MAX_FRAMES];
    int n = parse(0x7f0000000001UL, f); /* waiting in Pool.map: past threading.py, pool.py */
    assert_true(fa_pyframes_process_machinery_thread(f, n));
    n = parse(0x7f0000000002UL, f); /* a ThreadPoolExecutor worker: the program's pool */
    assert_false(fa_pyframes_process_machinery_thread(f, n));
    assert_true(fa_pyframes_in_process_machinery(&f[0]));
    n = parse(0, f);
    assert_false(fa_pyframes_process_machinery_thread(&f[3], n - 3)); /* the program's own frame first */
}

static void a_thread_without_state_is_absent_from_a_complete_dump(void **state)
{
    (void)state;
    static const char idle[] = "Thread 0x00007f0000000004 (most recent call first):\n"
                               "  <no Python frame>\n"
                               "\n"
                               "Current thread 0x00007f0000000003 (most recent call first):\n"
                               "  File \"/srv/app/train.py\", line 40 in <module>\n";
    static const char cut[] = "Thread 0x00007f0000000004 (most recent call first):\n"
                              "  File \"/srv/app/train.py\", line 12 in work\n"
                              "\n"
                              "...\n";
    struct fa_py_frame f[FA_PY_MAX_FRAMES];
    assert_true(fa_pyframes_dump_complete(dump, sizeof dump - 1));
    assert_true(fa_pyframes_dump_complete(idle, sizeof idle - 1));
    assert_false(fa_pyframes_dump_complete(cut, sizeof cut - 1)); /* over faulthandler's 100 threads */
    assert_true(fa_pyframes_listed(idle, sizeof idle - 1, 0x7f0000000004UL)); /* listed, no frame */
    assert_int_equal(fa_pyframes_parse(idle, sizeof idle - 1, 0x7f0000000004UL, NULL, f, FA_PY_MAX_FRAMES), 0);
    assert_false(fa_pyframes_listed(dump, sizeof dump - 1, 0x7f0000000004UL)); /* ended */
    assert_true(fa_pyframes_listed(dump, sizeof dump - 1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sections_are_read_innermost_first),
        cmocka_unit_test(a_cut_stack_reaches_the_programs_own_frame),
        cmocka_unit_test(multiprocessings_own_threads_are_told_apart),
        cmocka_unit_test(a_thread_without_state_is_absent_from_a_complete_dump),
    };
    return cmocka_run_group_tests_name("python frames", tests, NULL, NULL);
}
