/* Unit tests of rng-reused-in-child: the seed replay against the libc generators
 * themselves, and the record rendered from a synthetic event, as JSON (parsed back) and
 * as text. */
#include "unit.h"
#include "record_line.h"

#include <jansson.h>

#include "findings/rng_replay.h"
#include "findings/rng_reused.h"

static __attribute__((noinline)) int seeding_site(int x) { return x * 5 + 2; }
static __attribute__((noinline)) int drawing_site(int x) { return x * 7 + 3; }

static struct fa_rng_state seeded(const char *by, unsigned long long seed)
{
    struct fa_rng_state s;
    memset(&s, 0, sizeof s);
    s.seeded = 1;
    s.seed = seed;
    s.seeded_by = by;
    return s;
}

static void replay_gives_the_parents_rand_draw(void **state)
{
    (void)state;
    struct fa_rng_state s = seeded("srand", 12345);
    srand(12345); /* NOLINT(cert-msc32-c,cert-msc51-cpp): the known sequence is the point */
    for (int k = 0; k < 5; k++) {
        long long replayed = -1;
        assert_int_equal(fa_rng_replay(FA_RNG_RANDOM, &s, (unsigned long long)k, "rand", &replayed), 1);
        assert_int_equal(replayed, rand()); /* NOLINT(cert-msc30-c,cert-msc50-cpp): the sequence replayed */
    }
}

static void replay_follows_initstate_and_its_state_size(void **state)
{
    (void)state;
    static char buf[64];
    struct fa_rng_state s = seeded("initstate", 99);
    s.state_size = sizeof buf;
    char *old = initstate(99, buf, sizeof buf);
    long first = random(), second = random();
    setstate(old);
    long long replayed = -1;
    assert_int_equal(fa_rng_replay(FA_RNG_RANDOM, &s, 0, "random", &replayed), 1);
    assert_int_equal(replayed, first);
    assert_int_equal(fa_rng_replay(FA_RNG_RANDOM, &s, 1, "random", &replayed), 1);
    assert_int_equal(replayed, second);
}

static void replay_gives_the_parents_drand48_family_draws(void **state)
{
    (void)state;
    struct fa_rng_state s = seeded("srand48", 777);
    srand48(777);
    long a = lrand48(), b = mrand48();
    double c = drand48();
    long long replayed = -1;
    assert_int_equal(fa_rng_replay(FA_RNG_DRAND48, &s, 0, "lrand48", &replayed), 1);
    assert_int_equal(replayed, a);
    assert_int_equal(fa_rng_replay(FA_RNG_DRAND48, &s, 1, "mrand48", &replayed), 1);
    assert_int_equal(replayed, b);
    assert_int_equal(fa_rng_replay(FA_RNG_DRAND48, &s, 2, "drand48", &replayed), 1);
    double d;
    memcpy(&d, &replayed, sizeof d);
    assert_true(d == c);

    unsigned short x[3] = {1, 2, 3};
    s = seeded("seed48", 1 + (2ULL << 16) + (3ULL << 32));
    (void)seed48(x);
    long e = lrand48();
    assert_int_equal(fa_rng_replay(FA_RNG_DRAND48, &s, 0, "lrand48", &replayed), 1);
    assert_int_equal(replayed, e);
}

static void replay_refuses_lcong48_and_far_positions(void **state)
{
    (void)state;
    long long replayed = 42;
    struct fa_rng_state s = seeded("lcong48", 5);
    assert_int_equal(fa_rng_replay(FA_RNG_DRAND48, &s, 0, "lrand48", &replayed), 0);
    s = seeded("srand", 1);
    assert_int_equal(fa_rng_replay(FA_RNG_RANDOM, &s, FA_RNG_REPLAY_MAX, "rand", &replayed), 0);
    assert_int_equal(replayed, 42);
}

/* A child that drew 1804289383 from rand() at draw #4 of a sequence seeded with 12345. */
static struct fa_rng_state gen;
static uintptr_t draw_pc[1];
static struct fa_rng_reuse event;

static int setup(void **state)
{
    (void)state;
    gen = seeded("srand", 12345);
    gen.nframes = 1;
    gen.frames[0] = (uintptr_t)&seeding_site + 4;
    gen.draws_at_fork = 3;
    gen.inherited = 1;
    draw_pc[0] = (uintptr_t)&drawing_site + 4;
    memset(&event, 0, sizeof event);
    event.origin = (struct fa_child_origin){.pid = 200, .ppid = 100, .tid = 200, .born_tid = 101, .seq = 2, .via = "fork"};
    event.family = FA_RNG_RANDOM;
    event.state = &gen;
    event.drawn_by = "rand";
    event.value = 1804289383;
    event.parent_known = 1;
    event.parent_value = 1804289383;
    event.pc = draw_pc;
    event.n = 1;
    return 0;
}

static char *render(enum fa_format format)
{
    struct fa_options o = FA_OPTIONS_INITIALIZER;
    o.format = format;
    struct fa_buf b;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_rng_reused_render(&b, &event, &o);
    assert_false(b.truncated);
    char *text = strndup(b.p, b.len);
    fa_buf_release(&b);
    return text;
}

static json_t *render_json(void)
{
    char *line = render(FA_FORMAT_JSON);
    json_t *v = fa_test_record_line(line);
    free(line);
    return v;
}

static void json_record_has_every_field(void **state)
{
    (void)state;
    json_t *v = render_json();
    assert_string_equal(json_string_value(json_object_get(v, "kind")), "rng-reused-in-child");
    assert_string_equal(json_string_value(json_object_get(v, "severity")), "warning");
    assert_int_equal(json_integer_value(json_object_get(v, "pid")), 200);
    assert_int_equal(json_integer_value(json_object_get(v, "ppid")), 100);
    assert_int_equal(json_integer_value(json_object_get(v, "tid")), 200);
    json_t *fork = json_object_get(v, "fork");
    assert_int_equal(json_integer_value(json_object_get(fork, "seq")), 2);
    assert_int_equal(json_integer_value(json_object_get(fork, "child_pid")), 200);
    assert_string_equal(json_string_value(json_object_get(fork, "via")), "fork");
    json_t *frame = json_array_get(json_object_get(v, "stack"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "drawing_site");
    json_t *rng = json_object_get(v, "rng");
    assert_string_equal(json_string_value(json_object_get(rng, "family")), "rand");
    assert_string_equal(json_string_value(json_object_get(rng, "drawn_by")), "rand");
    assert_int_equal(json_integer_value(json_object_get(rng, "seed")), 12345);
    assert_string_equal(json_string_value(json_object_get(rng, "seeded_by")), "srand");
    frame = json_array_get(json_object_get(rng, "seeded_at"), 0);
    assert_string_equal(json_string_value(json_object_get(frame, "function")), "seeding_site");
    assert_int_equal(json_integer_value(json_object_get(rng, "draws_at_fork")), 3);
    assert_int_equal(json_integer_value(json_object_get(rng, "value")), 1804289383);
    assert_int_equal(json_integer_value(json_object_get(rng, "parent_value")), 1804289383);
    assert_true(json_is_true(json_object_get(rng, "same")));
    /* the rule names the seeding site */
    assert_string_equal(json_string_value(json_object_get(v, "suppression")), "rng-reused-in-child:seeding_site");
    json_decref(v);
}

static void json_without_seed_or_replay(void **state)
{
    (void)state;
    gen.seeded = 0;
    event.parent_known = 0;
    json_t *v = render_json();
    json_t *rng = json_object_get(v, "rng");
    assert_null(json_object_get(rng, "seed"));
    assert_null(json_object_get(rng, "seeded_at"));
    assert_null(json_object_get(rng, "parent_value"));
    assert_null(json_object_get(rng, "same"));
    /* unseeded: the rule names the draw */
    assert_string_equal(json_string_value(json_object_get(v, "suppression")), "rng-reused-in-child:drawing_site");
    json_decref(v);
}

static void json_drand48_value_is_a_decimal_fraction(void **state)
{
    (void)state;
    double d = 0.25, p = 0.75;
    event.family = FA_RNG_DRAND48;
    event.drawn_by = "drand48";
    gen.seeded_by = "srand48";
    memcpy(&event.value, &d, sizeof d);
    memcpy(&event.parent_value, &p, sizeof p);
    json_t *v = render_json();
    json_t *rng = json_object_get(v, "rng");
    assert_string_equal(json_string_value(json_object_get(rng, "family")), "drand48");
    assert_true(json_real_value(json_object_get(rng, "value")) == 0.25);
    assert_true(json_real_value(json_object_get(rng, "parent_value")) == 0.75);
    assert_true(json_is_false(json_object_get(rng, "same")));
    json_decref(v);
}

static void text_record_has_sanitizer_layout(void **state)
{
    (void)state;
    char *text = render(FA_FORMAT_TEXT);
    assert_non_null(strstr(text, "==200== forkaudit: WARNING: rng-reused-in-child: this child drew 1804289383 from "
                                 "rand(), draw #4 of the rand() sequence it inherited without reseeding\n"));
    assert_non_null(strstr(text, "==200==   the parent drew (or will draw) the same number at that position: "
                                 "1804289383\n"));
    assert_non_null(strstr(text, "==200==   seeded with 12345 by srand at:\n==200==     #0 0x"));
    assert_non_null(strstr(text, " in seeding_site+0x4 ("));
    assert_non_null(strstr(text, "==200==   drawn in the child at:\n==200==     #0 0x"));
    assert_non_null(strstr(text, " in drawing_site+0x4 ("));
    assert_non_null(strstr(text, "==200==   suppress with: rng-reused-in-child:seeding_site\n==200== \n"));
    for (char *line = text; *line; line = strchr(line, '\n') + 1) assert_int_equal(strncmp(line, "==200== ", 8), 0);
    free(text);

    event.parent_value = 7; /* not the same number: the text does not claim it */
    text = render(FA_FORMAT_TEXT);
    assert_non_null(strstr(text, "==200==   parent and child continue one sequence from the same state\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(replay_gives_the_parents_rand_draw),
        cmocka_unit_test(replay_follows_initstate_and_its_state_size),
        cmocka_unit_test(replay_gives_the_parents_drand48_family_draws),
        cmocka_unit_test(replay_refuses_lcong48_and_far_positions),
        cmocka_unit_test_setup(json_record_has_every_field, setup),
        cmocka_unit_test_setup(json_without_seed_or_replay, setup),
        cmocka_unit_test_setup(json_drand48_value_is_a_decimal_fraction, setup),
        cmocka_unit_test_setup(text_record_has_sanitizer_layout, setup),
    };
    return cmocka_run_group_tests_name("rng-reused-in-child", tests, NULL, NULL);
}
