/* Unit tests of findings/rng_at_fork.c: the rng-at-fork record. */
#include "findings_fixture.h"

static void json_names_the_generator(void **state)
{
    (void)state;
    snap.rng[0].state.nframes = 1;
    snap.rng[0].state.frames[0] = in_other();
    json_t *v = render_json(FA_KIND_RNG, 0);
    assert_string_equal(str_of(v, "kind"), "rng-at-fork");
    assert_string_equal(str_of(v, "severity"), "warning");
    json_t *r = json_object_get(v, "rng");
    assert_string_equal(str_of(r, "family"), "rand");
    assert_int_equal(int_of(r, "seed"), 12345);
    assert_string_equal(str_of(r, "seeded_by"), "srand");
    assert_string_equal(str_of(json_array_get(json_object_get(r, "seeded_at"), 0), "function"), "other_static_function");
    assert_int_equal(int_of(r, "draws"), 7);
    assert_string_equal(str_of(v, "suppression"), "rng-at-fork:other_static_function");
    json_decref(v);

    snap.rng[0].state.seeded = 0;
    v = render_json(FA_KIND_RNG, 0);
    r = json_object_get(v, "rng");
    assert_null(json_object_get(r, "seed"));
    assert_int_equal(json_array_size(json_object_get(r, "seeded_at")), 0);
    json_decref(v);
}

static void text_says_both_draw_the_same(void **state)
{
    (void)state;
    struct fa_buf b;
    render_text(&b, FA_KIND_RNG, 0);
    assert_non_null(strstr(b.p, "==100== forkaudit: WARNING: rng-at-fork: the rand() generator was seeded with 12345 and "
                                "drawn 7 times before fork #3 (child 101, via fork)\n"));
    assert_non_null(strstr(b.p, "parent and child draw the same numbers\n==100==   seeded by srand at:\n"));
    assert_prefixed(b.p, "==100== ");
    fa_buf_release(&b);

    snap.rng[0].state.seeded = 0;
    snap.rng[0].state.draws = 1;
    render_text(&b, FA_KIND_RNG, 0);
    assert_non_null(strstr(b.p, "was never seeded (fixed default seed) and drawn 1 time before fork #3"));
    assert_null(strstr(b.p, "seeded by"));
    fa_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_names_the_generator, setup),
        cmocka_unit_test_setup(text_says_both_draw_the_same, setup),
    };
    return cmocka_run_group_tests_name("rng-at-fork", tests, NULL, NULL);
}
