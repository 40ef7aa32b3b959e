/* Unit tests of out/record.c, the record layer: the head, stacks, lock text and JSON, and
 * the one-write(2) rule with its 4 MiB cap, with and without a snapshot's arena. */
#include "findings_fixture.h"

#include <sys/auxv.h>

#include "out/symbolize.h"

/* A stack ends whole only in the entry point's own function: a frame in the code just
 * after _start (here __do_global_dtors_aux and friends, or a handler in the reviewer's
 * program) is where the unwinder stopped. */
static void only_the_entry_function_ends_a_stack(void **state)
{
    (void)state;
    uintptr_t entry = (uintptr_t)getauxval(AT_ENTRY), in_start = entry + 8, after_start = entry + 0x80;
    struct fa_frame_info fi;
    fa_symbolize(after_start, 1, &fi);
    assert_false(fi.function && fi.function_len == 6 && strncmp(fi.function, "_start", 6) == 0);
    assert_null(fa_record_stack_truncation(&in_start, 1));
    const char *why = fa_record_stack_truncation(&after_start, 1);
    assert_non_null(why);
    assert_string_equal(why, "unwinder");
}

static void the_head_names_the_fork(void **state)
{
    (void)state;
    struct fa_record_head h;
    fa_record_head_now(&h, "child-stuck", FA_LEVEL_ERROR);
    assert_int_equal(h.pid, getpid());
    assert_int_equal(h.ppid, getppid());
    fa_record_head_fork(&h, 9, 0, NULL);
    struct fa_buf b;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_record_json_head(&b, &h);
    fa_puts(&b, "}\n");
    json_t *v = parse_record(&b);
    fa_buf_release(&b);
    assert_string_equal(str_of(v, "kind"), "child-stuck");
    assert_string_equal(str_of(v, "severity"), "error");
    assert_int_equal(int_of(v, "tid"), h.tid);
    assert_int_equal(int_of(json_object_get(v, "fork"), "seq"), 9);
    assert_null(json_object_get(json_object_get(v, "fork"), "child_pid"));
    assert_string_equal(str_of(json_object_get(v, "fork"), "via"), "fork");
    json_decref(v);

    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_record_text_title(&b, 42, FA_LEVEL_WARNING, "fds-at-fork");
    fa_buf_terminate(&b);
    assert_string_equal(b.p, "==42== forkaudit: WARNING: fds-at-fork: ");
    fa_buf_release(&b);
}

/* A renderer of a record with a list of `n` entries of 64 bytes, "items_truncated": the
 * entries left out. */
struct big {
    int n;
    int fixed; /* bytes of a fixed member: a record that cannot fit */
};

static void render_big(struct fa_buf *b, void *ctx)
{
    const struct big *big = ctx;
    fa_puts(b, "{\"kind\":\"test\",\"items\":[");
    int shown = 0;
    for (int i = 0; i < big->n; i++, shown++) {
        size_t mark = b->len;
        if (i) fa_putc(b, ',');
        fa_puts(b, "\"");
        for (int k = 0; k < 60; k++) fa_putc(b, 'x');
        fa_puts(b, "\"");
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_putc(b, ']');
    if (shown < big->n) fa_record_json_int(b, "items_truncated", big->n - shown);
    if (big->fixed) {
        fa_puts(b, ",\"fixed\":\"");
        for (int k = 0; k < big->fixed; k++) fa_putc(b, 'y');
        fa_putc(b, '"');
    }
    fa_puts(b, "}\n");
}

static char small_scratch[4096];

static void write_big(void *arg) { fa_record_write(small_scratch, sizeof small_scratch, render_big, arg); }
static void write_big_no_scratch(void *arg) { fa_record_write(NULL, 0, render_big, arg); }

static void check_one_capped_line(void (*writer)(void *), struct big *big, int expect_cut)
{
    size_t len;
    char *out = capture_log(writer, big, &len);
    assert_true(len > 0 && len <= FA_RECORD_MAX);
    assert_null(memchr(out, '\n', len - 1));
    json_error_t err;
    json_t *v = json_loads(out, 0, &err);
    if (!v) fail_msg("invalid JSON (%s)", err.text);
    long long shown = (long long)json_array_size(json_object_get(v, "items"));
    if (expect_cut) {
        assert_true(json_object_get(v, "items_truncated") != NULL);
        assert_int_equal(shown + int_of(v, "items_truncated"), big->n);
        assert_true(len > FA_RECORD_MAX / 2); /* it stopped near the cap, not at the scratch's size */
    } else {
        assert_null(json_object_get(v, "items_truncated"));
        assert_int_equal(shown, big->n);
    }
    json_decref(v);
    free(out);
}

/* Small records go out from the scratch, large ones from a mapping, and a list that would
 * pass 4 MiB is cut with its count: one valid line, with or without a scratch buffer. */
static void every_record_is_one_line_of_at_most_4_mib(void **state)
{
    (void)state;
    struct big small = {10, 0}, large = {40000, 0}, huge = {200000, 0};
    check_one_capped_line(write_big, &small, 0);
    check_one_capped_line(write_big, &large, 0); /* 2.5 MB: past the scratch, below the cap */
    check_one_capped_line(write_big, &huge, 1);  /* 12.8 MB: cut */
    check_one_capped_line(write_big_no_scratch, &small, 0);
    check_one_capped_line(write_big_no_scratch, &huge, 1);
    /* a tail larger than the room first kept for it: rendered again with more */
    struct big tail = {200000, 100 << 10};
    check_one_capped_line(write_big, &tail, 1);
    /* a record whose fixed part alone passes the cap is dropped whole */
    struct big too_big = {1, 5 << 20};
    size_t len;
    char *out = capture_log(write_big, &too_big, &len);
    assert_int_equal(len, 0);
    free(out);
}

/* Below a smaller cap (as a test may ask): the list is cut to fit it, with its count. */
static void a_record_is_cut_below_any_cap(void **state)
{
    (void)state;
    struct big big = {10000, 0};
    struct fa_buf b;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    assert_int_equal(fa_record_render_capped(&b, (size_t)256 << 10, render_big, &big), 0);
    assert_true(b.len <= (size_t)256 << 10 && b.len > (size_t)128 << 10);
    json_t *v = parse_record(&b);
    assert_int_equal((long long)json_array_size(json_object_get(v, "items")) + int_of(v, "items_truncated"), 10000);
    json_decref(v);
    struct big too_big = {1, 300 << 10};
    assert_int_equal(fa_record_render_capped(&b, (size_t)256 << 10, render_big, &too_big), -1);
    /* a buffer already larger than the cap (reused, or mapped large) still keeps it */
    struct big fixed_past_cap = {0, 8 << 10};
    assert_int_equal(fa_record_render_capped(&b, (size_t)4 << 10, render_big, &fixed_past_cap), -1);
    struct big list_past_cap = {1000, 2 << 10};
    if (fa_record_render_capped(&b, (size_t)32 << 10, render_big, &list_past_cap) == 0)
        assert_true(b.len <= (size_t)32 << 10);
    fa_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(only_the_entry_function_ends_a_stack),
        cmocka_unit_test(the_head_names_the_fork),
        cmocka_unit_test(every_record_is_one_line_of_at_most_4_mib),
        cmocka_unit_test(a_record_is_cut_below_any_cap),
    };
    return cmocka_run_group_tests_name("record layer", tests, NULL, NULL);
}
