/* Unit tests of the fork-time capture of unflushed stdio streams (audit/stdio_streams.c): glibc's
 * stream list read without its lock, each stream's pending count, buffering and target. */
#include "unit.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wchar.h>

#include "audit/stdio_streams.h"

static void *nothing(void *arg) { return arg; }

/* other_threads: as the fork audit found them (a threaded process never reads directly;
 * glibc's own flag says so once a thread was made, which this makes sure of) */
static struct fa_snapshot *capture_with(int other_threads)
{
    if (other_threads) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, nothing, NULL), 0);
        pthread_join(t, NULL);
    }
    static struct fa_snap_stream streams[FA_MAX_STREAMS];
    memset(streams, 0, sizeof streams);
    struct fa_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->streams = streams;
    s->pid = getpid();
    s->nthreads = other_threads;
    fa_capture_streams(s);
    return s;
}

static struct fa_snapshot *capture(void) { return capture_with(0); }

/* The captured stream on descriptor fd, or NULL. */
static const struct fa_snap_stream *stream_on(const struct fa_snapshot *s, int fd)
{
    for (int i = 0; i < s->nstreams; i++)
        if (s->streams[i].fd == fd) return &s->streams[i];
    return NULL;
}

static FILE *temp_file(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/fa_stdio_unit_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    return f;
}

static void a_file_with_pending_output_is_captured_with_count_buffering_and_path(void **state)
{
    (void)state;
    char path[64];
    FILE *f = temp_file(path, sizeof path);
    fputs("twelve bytes", f);
    struct fa_snapshot *s = capture();
    const struct fa_snap_stream *st = stream_on(s, fileno(f));
    assert_non_null(st);
    assert_int_equal(st->pending, 12);
    assert_int_equal(st->buffering, FA_STREAM_FULLY_BUFFERED);
    assert_false(st->wide);
    assert_null(st->name);
    assert_string_equal(st->target, path);
    assert_string_equal(st->type, "file");
    assert_true(st->buffer_size >= 12);
    assert_int_equal(s->streams_unchecked, FA_STREAMS_READ);
    free(s);
    /* flushed: nothing pending, not captured */
    fflush(f);
    s = capture();
    assert_null(stream_on(s, fileno(f)));
    free(s);
    fclose(f);
    unlink(path);
}

static void line_buffered_streams_hold_only_an_unfinished_line(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    FILE *f = fdopen(p[1], "w");
    assert_non_null(f);
    setvbuf(f, NULL, _IOLBF, 0);
    fputs("whole line\n", f);
    struct fa_snapshot *s = capture();
    assert_null(stream_on(s, p[1]));
    free(s);
    fputs("prompt: ", f);
    s = capture();
    const struct fa_snap_stream *st = stream_on(s, p[1]);
    assert_non_null(st);
    assert_int_equal(st->pending, 8);
    assert_int_equal(st->buffering, FA_STREAM_LINE_BUFFERED);
    assert_string_equal(st->type, "pipe");
    assert_memory_equal(st->target, "pipe:[", 6);
    free(s);
    fclose(f);
    close(p[0]);
}

static void read_only_and_memory_streams_are_left_out(void **state)
{
    (void)state;
    FILE *r = fopen("/proc/self/status", "r");
    assert_non_null(r);
    assert_true(fgetc(r) != EOF); /* a read buffer full of input: nothing to write */
    char *mem = NULL;
    size_t memlen = 0;
    FILE *m = open_memstream(&mem, &memlen);
    assert_non_null(m);
    fputs("into memory", m);
    struct fa_snapshot *s = capture();
    assert_null(stream_on(s, fileno(r)));
    for (int i = 0; i < s->nstreams; i++) assert_true(s->streams[i].fd >= 0);
    free(s);
    fclose(m);
    free(mem);
    fclose(r);
}

static void a_wide_stream_counts_wide_characters(void **state)
{
    (void)state;
    char path[64];
    FILE *f = temp_file(path, sizeof path);
    fputws(L"wide", f);
    struct fa_snapshot *s = capture();
    const struct fa_snap_stream *st = stream_on(s, fileno(f));
    assert_non_null(st);
    assert_true(st->wide);
    assert_int_equal(st->pending, 4);
    free(s);
    fclose(f);
    unlink(path);
}

static void more_streams_than_the_table_are_counted(void **state)
{
    (void)state;
    enum { N = FA_MAX_STREAMS + 3 };
    FILE *f[N];
    for (int i = 0; i < N; i++) {
        f[i] = fopen("/dev/null", "w");
        assert_non_null(f[i]);
        fputc('x', f[i]);
    }
    struct fa_snapshot *s = capture();
    assert_int_equal(s->nstreams, FA_MAX_STREAMS);
    assert_true(s->streams_dropped >= 3); /* and stdout, when the runner left output in it */
    free(s);
    for (int i = 0; i < N; i++) fclose(f[i]);
}

/* Another thread opens, writes and closes streams without pause while the list is read:
 * the capture never faults, and a stream that stays open is always found. */
static volatile int churning = 1;
static void *churn(void *arg)
{
    (void)arg;
    while (churning) {
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            fputc('y', f);
            fclose(f);
        }
    }
    return NULL;
}

static void a_list_changing_under_the_capture_is_read_safely(void **state)
{
    (void)state;
    char path[64];
    FILE *kept = temp_file(path, sizeof path);
    fputs("kept", kept);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, churn, NULL), 0);
    int found = 0, unchecked = 0;
    for (int i = 0; i < 2000; i++) {
        struct fa_snapshot *s = capture_with(1);
        const struct fa_snap_stream *st = stream_on(s, fileno(kept));
        if (st) {
            found++;
            assert_int_equal(st->pending, 4);
        }
        unchecked += s->streams_unchecked != FA_STREAMS_READ;
        free(s);
    }
    churning = 0;
    pthread_join(t, NULL);
    /* the kept stream is older than every churned one: only a walk stopped at a freed
     * node misses it, and says so */
    assert_int_equal(found + unchecked >= 2000, 1);
    fclose(kept);
    unlink(path);
}

/* glibc's list head, pointed for a moment at nodes made up here (no stdio call meanwhile).
 * Found with dlsym: an `extern` here would give this program a copy of it (a copy
 * relocation) that glibc, which uses a hidden alias, never updates. */
static struct fa_snapshot *capture_list(FILE *head, int other_threads)
{
    FILE **list_all = dlsym(RTLD_DEFAULT, "_IO_list_all");
    assert_non_null(list_all);
    FILE *saved = *list_all;
    *list_all = head;
    struct fa_snapshot *s = capture_with(other_threads);
    *list_all = saved;
    return s;
}

static void a_node_that_is_not_a_stream_ends_the_walk_and_says_so(void **state)
{
    (void)state;
    struct _IO_FILE fake; /* a node made up for glibc's list */
    memset(&fake, 0, sizeof fake);
    fake._flags = 0x12345678; /* what malloc leaves in a freed stream's first word */
    struct fa_snapshot *s = capture_list(&fake, 0);
    assert_int_equal(s->nstreams, 0);
    assert_int_equal(s->streams_unchecked, FA_STREAMS_UNREADABLE);
    free(s);
}

static void a_node_in_unmapped_memory_is_not_read(void **state)
{
    (void)state;
    FILE *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(gone != MAP_FAILED);
    munmap(gone, 4096);
    struct fa_snapshot *s = capture_list(gone, 1); /* only a threaded process can meet one */
    assert_int_equal(s->streams_unchecked, FA_STREAMS_UNREADABLE);
    free(s);
}

static void a_list_that_loops_stops_at_the_walk_limit(void **state)
{
    (void)state;
    struct _IO_FILE loop = *(struct _IO_FILE *)stdin; /* a real stream's flags, chained to itself */
    loop._chain = &loop;
    struct fa_snapshot *s = capture_list(&loop, 0);
    assert_int_equal(s->streams_unchecked, FA_STREAMS_TOO_MANY);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_file_with_pending_output_is_captured_with_count_buffering_and_path),
        cmocka_unit_test(line_buffered_streams_hold_only_an_unfinished_line),
        cmocka_unit_test(read_only_and_memory_streams_are_left_out),
        cmocka_unit_test(a_wide_stream_counts_wide_characters),
        cmocka_unit_test(more_streams_than_the_table_are_counted),
        cmocka_unit_test(a_list_changing_under_the_capture_is_read_safely),
        cmocka_unit_test(a_node_that_is_not_a_stream_ends_the_walk_and_says_so),
        cmocka_unit_test(a_node_in_unmapped_memory_is_not_read),
        cmocka_unit_test(a_list_that_loops_stops_at_the_walk_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
