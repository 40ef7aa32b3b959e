/* findings_fixture.h: a synthetic fork snapshot for the unit tests of the findings stage
 * (one test file per findings file), and helpers that render one record and parse it
 * back (JSON, with jansson) or capture what the writer wrote to fd 2. Frames point into
 * the test binary, so symbolization of static functions is checked too. */
#ifndef FINDINGS_FIXTURE_H
#define FINDINGS_FIXTURE_H

#include "unit.h"

#include <jansson.h>
#include <unistd.h>

#include "findings/findings.h"
#include "out/log.h"
#include "out/record.h"

static __attribute__((noinline)) int helper_static_function(int x) { return x * 3 + 1; }
static __attribute__((noinline, unused)) int other_static_function(int x) { return x * 5 + 1; }

static struct fa_snapshot snap;
static struct fa_snap_thread threads[2];
static struct fa_snap_lock locks[2];
static struct fa_snap_fd fds[2];
static struct fa_snap_stream streams[FA_MAX_STREAMS];
static char render_arena[1 << 16];
static struct fa_options opts = FA_OPTIONS_INITIALIZER;

static uintptr_t in_helper(void) { return (uintptr_t)&helper_static_function + 4; }
static __attribute__((unused)) uintptr_t in_other(void) { return (uintptr_t)&other_static_function + 4; }

/* A fork (#3, child 101) by thread 100 with another thread 102 "work\"er", a recursive
 * robust mutex held by 102 (an error), a normal one held by the forking thread (a
 * warning), a descriptor and a seeded rand() generator. */
static __attribute__((unused)) int setup(void **state)
{
    (void)state;
    memset(&snap, 0, sizeof snap);
    memset(threads, 0, sizeof threads);
    memset(locks, 0, sizeof locks);
    memset(fds, 0, sizeof fds);
    memset(streams, 0, sizeof streams);
    opts = (struct fa_options)FA_OPTIONS_INITIALIZER;
    snap.via = "fork";
    snap.seq = 3;
    snap.pid = 100;
    snap.ppid = 1;
    snap.tid = 100;
    snap.child = 101;
    snap.stack.n = 1;
    snap.stack.pc[0] = in_helper();
    snap.render = render_arena;
    snap.render_len = sizeof render_arena;
    snap.threads = threads;
    snap.streams = streams;
    snap.nthreads = 1;
    threads[0].tid = 102;
    strcpy(threads[0].name, "work\"er");
    threads[0].start_routine = (void *)&helper_static_function;
    threads[0].ncreated = 1;
    threads[0].created_at[0] = in_helper();
    snap.locks = locks;
    snap.nlocks = 2;
    locks[0].held.addr = (void *)0x5000;
    locks[0].held.type = FA_LOCK_MUTEX;
    locks[0].held.kind = FA_MUTEX_KIND_RECURSIVE | FA_MUTEX_KIND_ROBUST;
    locks[0].held.depth = 2;
    locks[0].held.nframes = 1;
    locks[0].held.frames[0] = in_helper();
    locks[0].holder = 102;
    locks[1] = locks[0];
    locks[1].held.kind = 0; /* normal: the child could unlock it, so a warning */
    locks[1].held.depth = 1;
    locks[1].holder = 100;
    locks[1].holder_is_forking_thread = 1;
    snap.fds = fds;
    snap.nfds = 1;
    fds[0].fd = 7;
    strcpy(fds[0].target, "/tmp/we\"ird\npath");
    fds[0].type = "file";
    fds[0].flags = 01; /* O_WRONLY */
    fds[0].offset = 42;
    fds[0].mode = 0100600; /* S_IFREG: a file open for writing, shared offset: a hazard */
    snap.nrng = 1;
    snap.rng[0].family = FA_RNG_RANDOM;
    snap.rng[0].state.seeded = 1;
    snap.rng[0].state.seed = 12345;
    snap.rng[0].state.seeded_by = "srand";
    snap.rng[0].state.draws = 7;
    return 0;
}

/* A rendered record (JSON: exactly one line) parsed back. */
static __attribute__((unused)) json_t *parse_record(struct fa_buf *b)
{
    assert_true(b->len > 0 && b->p[b->len - 1] == '\n');
    assert_null(memchr(b->p, '\n', b->len - 1)); /* one line */
    fa_buf_terminate(b);
    json_error_t err;
    json_t *v = json_loads(b->p, 0, &err);
    if (!v) fail_msg("invalid JSON (%s): %s", err.text, b->p);
    return v;
}

static __attribute__((unused)) json_t *render_json(enum fa_kind kind, int index)
{
    struct fa_buf b;
    opts.format = FA_FORMAT_JSON;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    fa_findings_render(&b, &snap, kind, index, &opts);
    json_t *v = parse_record(&b);
    fa_buf_release(&b);
    return v;
}

/* The text record, NUL-terminated, in a mapped buffer the caller releases. */
static __attribute__((unused)) void render_text(struct fa_buf *b, enum fa_kind kind, int index)
{
    opts.format = FA_FORMAT_TEXT;
    assert_int_equal(fa_buf_mapped(b, 4096), 0);
    fa_findings_render(b, &snap, kind, index, &opts);
    fa_buf_terminate(b);
}

/* Every line of a text record starts with the pid prefix. */
static __attribute__((unused)) void assert_prefixed(const char *text, const char *prefix)
{
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        assert_int_equal(strncmp(line, prefix, strlen(prefix)), 0);
        assert_non_null(strchr(line, '\n'));
    }
}

/* What the record writer wrote to fd 2 while fn(arg) ran, NUL-terminated, in a malloc'd
 * string (*len bytes). */
static __attribute__((unused)) char *capture_log(void (*fn)(void *), void *arg, size_t *len)
{
    char path[] = "/tmp/fa_unit_logXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fa_log_take_stdio(); /* the log writes only to the stderr it was given */
    fn(arg);
    dup2(saved, 2);
    fa_log_take_stdio();
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *out = malloc((size_t)n + 1);
    assert_non_null(out);
    assert_int_equal(pread(fd, out, (size_t)n, 0), n);
    out[n] = 0;
    close(fd);
    *len = (size_t)n;
    return out;
}

/* The records of a capture, one JSON object per line, as a jansson array. */
static __attribute__((unused)) json_t *parse_lines(const char *text)
{
    json_t *all = json_array();
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        json_error_t err;
        json_t *v = json_loadb(line, (size_t)(end - line), 0, &err);
        if (!v) fail_msg("invalid JSON (%s): %.*s", err.text, (int)(end - line), line);
        json_array_append_new(all, v);
        line = end + 1;
    }
    return all;
}

static __attribute__((unused)) const char *str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static __attribute__((unused)) long long int_of(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

#endif
