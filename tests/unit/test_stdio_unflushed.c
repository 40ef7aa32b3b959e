/* Unit tests of findings/stdio_unflushed.c: the stdio-unflushed-at-fork record. */
#include "findings_fixture.h"

/* The fixture's fork, with stdout (a pipe, 9 bytes) and a log file opened in
 * other_static_function (line-buffered, 5 bytes) holding output. */
static int setup_streams(void **state)
{
    setup(state);
    snap.nstreams = 2;
    struct fa_snap_stream *out = &snap.streams[0], *log = &snap.streams[1];
    out->name = "stdout";
    out->fd = 1;
    strcpy(out->target, "pipe:[4711]");
    out->type = "pipe";
    out->buffering = FA_STREAM_FULLY_BUFFERED;
    out->pending = 9;
    out->buffer_size = 4096;
    log->fd = 5;
    strcpy(log->target, "/var/log/we\"ird.log");
    log->type = "file";
    log->buffering = FA_STREAM_LINE_BUFFERED;
    log->pending = 1;
    log->buffer_size = 1024;
    log->opened_by = "fopen";
    log->nframes = 1;
    log->frames[0] = in_other();
    return 0;
}

static void json_names_the_stream_its_pending_bytes_and_buffering(void **state)
{
    (void)state;
    json_t *v = render_json(FA_KIND_STDIO, 0);
    assert_string_equal(str_of(v, "kind"), "stdio-unflushed-at-fork");
    assert_string_equal(str_of(v, "severity"), "warning");
    assert_int_equal(int_of(json_object_get(v, "fork"), "seq"), 3);
    json_t *st = json_object_get(v, "stream");
    assert_string_equal(str_of(st, "name"), "stdout");
    assert_int_equal(int_of(st, "fd"), 1);
    assert_string_equal(str_of(st, "target"), "pipe:[4711]");
    assert_string_equal(str_of(st, "type"), "pipe");
    assert_string_equal(str_of(st, "buffering"), "full");
    assert_int_equal(int_of(st, "pending_bytes"), 9);
    assert_int_equal(int_of(st, "buffer_size"), 4096);
    assert_null(json_object_get(st, "opened_by"));
    assert_string_equal(str_of(v, "suppression"), "stdio-unflushed-at-fork:stdout");
    json_decref(v);

    v = render_json(FA_KIND_STDIO, 1);
    st = json_object_get(v, "stream");
    assert_true(json_is_null(json_object_get(st, "name")));
    assert_string_equal(str_of(st, "target"), "/var/log/we\"ird.log");
    assert_string_equal(str_of(st, "buffering"), "line");
    assert_string_equal(str_of(st, "opened_by"), "fopen");
    assert_string_equal(str_of(json_array_get(json_object_get(st, "opened_at"), 0), "function"),
                        "other_static_function");
    assert_string_equal(str_of(v, "suppression"), "stdio-unflushed-at-fork:/var/log/we\"ird.log");
    json_decref(v);
}

static void a_pipe_is_named_by_where_it_was_opened_and_wide_streams_by_characters(void **state)
{
    (void)state;
    struct fa_snap_stream *st = &snap.streams[1];
    strcpy(st->target, "pipe:[99]");
    st->type = "pipe";
    st->buffering = FA_STREAM_UNBUFFERED;
    st->wide = 1;
    json_t *v = render_json(FA_KIND_STDIO, 1);
    json_t *js = json_object_get(v, "stream");
    assert_string_equal(str_of(js, "buffering"), "unbuffered");
    assert_int_equal(int_of(js, "pending_wide_chars"), 1);
    assert_null(json_object_get(js, "pending_bytes"));
    assert_string_equal(str_of(v, "suppression"), "stdio-unflushed-at-fork:other_static_function");
    json_decref(v);

    st->opened_by = NULL; /* no opening site: "pipe:*" would silence every pipe, so no rule */
    v = render_json(FA_KIND_STDIO, 1);
    assert_null(json_object_get(v, "suppression"));
    json_decref(v);
}

static void text_says_both_write_them_and_how_to_flush(void **state)
{
    (void)state;
    struct fa_buf b;
    render_text(&b, FA_KIND_STDIO, 0);
    assert_non_null(strstr(b.p, "==100== forkaudit: WARNING: stdio-unflushed-at-fork: stdout holds 9 bytes of output not "
                                "yet written at fork #3 (child 101, via fork)\n"));
    assert_non_null(strstr(b.p, "==100==   stdout on fd 1 -> pipe:[4711] (pipe, fully buffered, a 4096-byte buffer)\n"));
    assert_non_null(strstr(b.p, "they come out twice\n"));
    assert_non_null(strstr(b.p, "a child that only execs or _exits never flushes them"));
    assert_non_null(strstr(b.p, "fflush(stdout)"));
    assert_non_null(strstr(b.p, "suppress with: stdio-unflushed-at-fork:stdout\n"));
    assert_non_null(strstr(b.p, "fork called by thread 100 at:")); /* the fork's first record */
    assert_prefixed(b.p, "==100== ");
    fa_buf_release(&b);

    render_text(&b, FA_KIND_STDIO, 1);
    assert_non_null(strstr(b.p, "stdio-unflushed-at-fork: /var/log/we\"ird.log holds 1 byte of output"));
    assert_non_null(strstr(b.p, "  stream on fd 5 -> /var/log/we\"ird.log (file, line-buffered, a 1024-byte buffer)\n"));
    assert_non_null(strstr(b.p, "\n==100==   opened by fopen at:\n==100==     #0 "));
    assert_non_null(strstr(b.p, " in other_static_function+"));
    assert_prefixed(b.p, "==100== ");
    fa_buf_release(&b);
}

static void streams_or_a_list_not_read_whole_make_a_fork_worth_a_record(void **state)
{
    (void)state;
    assert_int_equal(fa_findings_fork_may_write(&snap, &opts), 1);
    snap.nstreams = 0;
    snap.nlocks = snap.nthreads = snap.nfds = snap.nrng = 0;
    assert_int_equal(fa_findings_fork_may_write(&snap, &opts), 0);
    snap.streams_unchecked = FA_STREAMS_UNREADABLE; /* the fork note says so */
    assert_int_equal(fa_findings_fork_may_write(&snap, &opts), 1);
}

static void the_fork_note_counts_what_was_not_listed_or_not_read(void **state)
{
    (void)state;
    snap.streams_dropped = 3;
    snap.streams_unchecked = FA_STREAMS_UNREADABLE;
    json_t *v = render_json(FA_KIND_FORK, 0);
    assert_int_equal(int_of(v, "streams_dropped"), 3);
    assert_string_equal(str_of(v, "streams_unchecked"), "unreadable");
    assert_int_equal(int_of(v, "warnings"), 1 + 1 + 1 + 1 + 2); /* lock, threads, fds, rng, two streams */
    json_decref(v);
    struct fa_buf b;
    snap.streams_unchecked = FA_STREAMS_TOO_MANY;
    render_text(&b, FA_KIND_FORK, 0);
    assert_non_null(strstr(b.p, " (3 more stdio streams with unwritten output not listed: 8 a fork)"));
    assert_non_null(strstr(b.p, " (stdio streams past the first 4096 not checked for unwritten output)"));
    fa_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(json_names_the_stream_its_pending_bytes_and_buffering, setup_streams),
        cmocka_unit_test_setup(a_pipe_is_named_by_where_it_was_opened_and_wide_streams_by_characters, setup_streams),
        cmocka_unit_test_setup(text_says_both_write_them_and_how_to_flush, setup_streams),
        cmocka_unit_test_setup(streams_or_a_list_not_read_whole_make_a_fork_worth_a_record, setup_streams),
        cmocka_unit_test_setup(the_fork_note_counts_what_was_not_listed_or_not_read, setup_streams),
    };
    return cmocka_run_group_tests_name("stdio-unflushed-at-fork", tests, NULL, NULL);
}
