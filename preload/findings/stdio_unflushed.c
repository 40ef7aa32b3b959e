/* stdio_unflushed.c: stdio-unflushed-at-fork, one record per C stdio stream that held
 * output not yet written at the fork: parent and child each write it when they flush, so
 * it appears twice (captured by audit/stdio_streams.c); and per Python stream
 * (sys.stdout, an open file object: audit/python_io.c), which os.fork() does not flush. */
#include <string.h>

#include "findings/finding.h"

#include "out/suppress.h"
#include "out/symbolize.h"

static const char *buffering_name(int buffering)
{
    switch ((enum fa_stream_buffering)buffering) {
    case FA_STREAM_FULLY_BUFFERED: return "full";
    case FA_STREAM_LINE_BUFFERED: return "line";
    case FA_STREAM_UNBUFFERED: return "unbuffered";
    }
    return "full";
}

static const char *buffering_text(int buffering)
{
    switch ((enum fa_stream_buffering)buffering) {
    case FA_STREAM_FULLY_BUFFERED: return "fully buffered";
    case FA_STREAM_LINE_BUFFERED: return "line-buffered";
    case FA_STREAM_UNBUFFERED: return "unbuffered";
    }
    return "fully buffered";
}

/* The stream's own name: stdout/stderr/stdin, sys.stdout & co, the module global a Python
 * stream is bound to ("__main__.log"); NULL for another C stream. */
static const char *stream_name(const struct fa_snap_stream *st)
{
    if (st->name) return st->name;
    return st->python && st->py_name[0] ? st->py_name : NULL;
}

/* What names the stream in a rule and a title: its name, else the path of its file; else
 * (pipes, sockets: their numbers change every run) NULL, and its opening stack names it,
 * or the kind of its target. */
static const char *stream_text(const struct fa_snap_stream *st)
{
    if (stream_name(st)) return stream_name(st);
    if (st->target[0] == '/') return st->target;
    return NULL;
}

static const char *stream_pattern(const struct fa_snap_stream *st)
{
    const char *text = stream_text(st);
    if (text) return text;
    if (!strncmp(st->target, "pipe:", 5)) return "pipe:*";
    if (!strncmp(st->target, "socket:", 7)) return "socket:*";
    return st->target;
}

/* The rule's stack: the opening site, for a stream its text does not name (a temporary
 * file's path is another one every run). */
static const uintptr_t *rule_frames(const struct fa_snap_stream *st, int *n)
{
    int named = stream_text(st) && (stream_name(st) || !fa_temporary_path(st->target));
    *n = named || !st->opened_by ? 0 : st->nframes;
    return *n ? st->frames : NULL;
}

static int entries(const struct fa_snapshot *s) { return s->nstreams; }

/* daemon()'s parent _exits at once (glibc's misc/daemon.c): only the child ever writes
 * what was pending, nothing comes out twice. Its fork passes our atfork handler, with
 * daemon on the stack. */
static int made_by_daemon(const struct fa_snapshot *s)
{
    if (!s->via || strcmp(s->via, "atfork") != 0) return 0;
    for (int i = 0; i < s->stack.n; i++) {
        struct fa_frame_info fi;
        fa_symbolize(s->stack.pc[i], 1, &fi);
        if (fi.function && fi.function_len == 6 && memcmp(fi.function, "daemon", 6) == 0) return 1;
    }
    return 0;
}

static int records(const struct fa_snapshot *s) { return s->nstreams && !made_by_daemon(s) ? s->nstreams : 0; }

static void keys(const struct fa_snapshot *s, int i, struct fa_finding_keys *k)
{
    const struct fa_snap_stream *st = &s->streams[i];
    k->text = stream_pattern(st);
    k->pc[0] = st->frames;
    k->n[0] = st->opened_by ? st->nframes : 0;
    k->nstacks = 1;
}

static void keep(struct fa_snapshot *s, int to, int from) { s->streams[to] = s->streams[from]; }
static void set_entries(struct fa_snapshot *s, int n) { s->nstreams = n; }

static void emit_json(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snap_stream *st = &in->s->streams[in->index];
    fa_puts(b, ",\"stream\":{\"name\":");
    if (stream_name(st)) fa_put_json_str(b, stream_name(st));
    else fa_puts(b, "null");
    fa_record_json_int(b, "fd", st->fd);
    fa_puts(b, ",\"target\":");
    fa_put_json_str(b, st->target);
    fa_puts(b, ",\"type\":\"");
    fa_puts(b, st->type);
    fa_puts(b, "\",\"buffering\":\"");
    fa_puts(b, buffering_name(st->buffering));
    fa_putc(b, '"');
    fa_record_json_int(b, st->wide ? "pending_wide_chars" : "pending_bytes", (long long)st->pending);
    fa_record_json_int(b, "buffer_size", (long long)st->buffer_size);
    if (st->python) {
        fa_puts(b, ",\"python\":{\"type\":\"");
        fa_puts(b, st->py_type);
        fa_putc(b, '"');
        fa_record_json_int(b, "text_pending_bytes", (long long)st->py_text_pending);
        fa_record_json_int(b, "buffered_pending_bytes", (long long)st->py_buffered_pending);
        fa_putc(b, '}');
    }
    if (st->opened_by) {
        fa_puts(b, ",\"opened_by\":\"");
        fa_puts(b, st->opened_by);
        fa_puts(b, "\",\"opened_at\":");
        fa_record_frames_json(b, st->frames, st->nframes);
    }
    fa_putc(b, '}');
    int n;
    const uintptr_t *pc = rule_frames(st, &n);
    fa_record_suggestion_json(b, fa_kind_name(in->kind), pc, n, stream_pattern(st));
}

static void c_advice(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_stream *st)
{
    fa_record_text_line(b, s->pid, "  parent and child each write them when they flush the stream (fflush, exit, a full "
                                   "buffer): they come out twice\n");
    fa_record_text_line(b, s->pid, "  (a child that only execs or _exits never flushes them: then nothing is doubled)\n");
    fa_record_prefix(b, s->pid);
    fa_puts(b, "  flush it before the fork: fflush(");
    fa_puts(b, st->name ? st->name : "the stream");
    fa_puts(b, "), or fflush(NULL) for every stream\n");
}

/* os.fork() flushes no Python stream; multiprocessing's fork start method flushes
 * sys.stdout and sys.stderr first (and only those). */
static void python_advice(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_stream *st)
{
    fa_record_text_line(b, s->pid, "  parent and child each write them when they flush it (flush(), close(), the "
                                   "interpreter's exit, a full buffer): they come out twice\n");
    fa_record_text_line(b, s->pid, "  (a child that only execs or ends with os._exit() never flushes them: then nothing "
                                   "is doubled)\n");
    fa_record_prefix(b, s->pid);
    fa_puts(b, "  flush it before os.fork(): ");
    fa_puts(b, stream_name(st) ? stream_name(st) : "the stream");
    fa_puts(b, ".flush() (multiprocessing does so for sys.stdout and sys.stderr)\n");
}

static void emit_text(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    const struct fa_snap_stream *st = &s->streams[in->index];
    const char *text = stream_text(st);
    if (text) {
        fa_puts(b, text);
    } else {
        fa_puts(b, "the stream on fd ");
        fa_put_dec(b, st->fd);
    }
    fa_puts(b, " holds ");
    fa_put_udec(b, st->pending);
    fa_puts(b, st->wide ? (st->pending == 1 ? " wide character" : " wide characters")
                        : (st->pending == 1 ? " byte" : " bytes"));
    fa_puts(b, " of output not yet written at ");
    fa_finding_fork_ref(b, s);
    fa_putc(b, '\n');
    fa_record_prefix(b, s->pid);
    fa_puts(b, "  ");
    fa_puts(b, stream_name(st) ? stream_name(st) : "stream");
    fa_puts(b, " on fd ");
    fa_put_dec(b, st->fd);
    fa_puts(b, " -> ");
    fa_puts(b, st->target[0] ? st->target : "(closed)");
    fa_puts(b, " (");
    fa_puts(b, st->type);
    if (st->python) {
        fa_puts(b, ", Python ");
        fa_puts(b, st->py_type);
    }
    fa_puts(b, ", ");
    fa_puts(b, buffering_text(st->buffering));
    if (st->buffer_size) {
        fa_puts(b, ", a ");
        fa_put_udec(b, st->buffer_size);
        fa_puts(b, "-byte buffer");
    }
    if (st->python && st->py_text_pending && st->py_buffered_pending) {
        fa_puts(b, "; ");
        fa_put_udec(b, st->py_text_pending);
        fa_puts(b, " in the text layer, ");
        fa_put_udec(b, st->py_buffered_pending);
        fa_puts(b, " in the buffer");
    }
    fa_puts(b, ")\n");
    if (st->python) python_advice(b, s, st);
    else c_advice(b, s, st);
    if (st->opened_by) {
        fa_record_prefix(b, s->pid);
        fa_puts(b, "  opened by ");
        fa_puts(b, st->opened_by);
        fa_puts(b, " at:\n");
        fa_record_frames_text(b, s->pid, st->frames, st->nframes, "    ");
    }
    int n;
    const uintptr_t *pc = rule_frames(st, &n);
    fa_record_suggestion_text(b, s->pid, "  ", fa_kind_name(in->kind), pc, n, stream_pattern(st));
}

/* The fork note's part: streams the table had no room for, streams not looked at. */
static int overflowed(const struct fa_snapshot *s) { return s->streams_dropped || s->streams_unchecked; }

static void note_json(struct fa_buf *b, const struct fa_snapshot *s)
{
    if (s->streams_dropped) fa_record_json_int(b, "streams_dropped", (long long)s->streams_dropped);
    if (s->streams_unchecked)
        fa_puts(b, s->streams_unchecked == FA_STREAMS_TOO_MANY ? ",\"streams_unchecked\":\"too-many\""
                                                                : ",\"streams_unchecked\":\"unreadable\"");
}

static void note_text(struct fa_buf *b, const struct fa_snapshot *s)
{
    if (s->streams_dropped) {
        fa_puts(b, " (");
        fa_put_udec(b, s->streams_dropped);
        fa_puts(b, " more stdio streams with unwritten output not listed: " FA_STR(FA_MAX_STREAMS) " a fork)");
    }
    if (s->streams_unchecked)
        fa_puts(b, s->streams_unchecked == FA_STREAMS_TOO_MANY
                       ? " (stdio streams past the first " FA_STR(FA_STREAMS_WALKED) " not checked for unwritten output)"
                       : " (glibc's stdio stream list changed while it was read: some streams not checked for unwritten output)");
}

const struct fa_finding fa_finding_STDIO = {
    .entries = entries,
    .keys = keys,
    .keep = keep,
    .set_entries = set_entries,
    .records = records,
    .emit_json = emit_json,
    .emit_text = emit_text,
    .overflowed = overflowed,
    .note_json = note_json,
    .note_text = note_text,
};
