/* report.c: snapshot -> records. Text follows the sanitizers (==PID== prefix, numbered
 * symbolized frames, a SUMMARY line); JSON is one object per line as ../shared/README.md
 * specifies. */
#include "findings/report.h"

#include <errno.h>
#include <string.h>

#include "track/fdtrack.h"
#include "out/log.h"
#include "out/suppress.h"
#include "base/process.h"
#include "track/threads.h"

#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/backtrace.h"
#include "out/symbolize.h"

const char *fa_mutex_kind_name(unsigned kind)
{
    switch (kind & FA_MUTEX_KIND_TYPE_MASK) {
    case FA_MUTEX_KIND_NORMAL: return "normal";
    case FA_MUTEX_KIND_RECURSIVE: return "recursive";
    case FA_MUTEX_KIND_ERRORCHECK: return "errorcheck";
    default: return "adaptive";
    }
}


/* Another thread's lock, or one of the forking thread's that the child cannot unlock. */
static int lock_is_error(const struct fa_snap_lock *l)
{
    return !l->holder_is_forking_thread || fa_held_owner_checked(l->held.type, l->held.kind);
}

static const char *severity_of(const struct fa_snapshot *s, enum fa_kind kind, int index)
{
    if (kind == FA_KIND_FORK) return "note";
    if (kind == FA_KIND_LOCK && lock_is_error(&s->locks[index])) return "error";
    return "warning";
}

static const char *kind_name(enum fa_kind kind)
{
    switch (kind) {
    case FA_KIND_THREADS: return "threads-at-fork";
    case FA_KIND_LOCK: return "lock-held-at-fork";
    case FA_KIND_FDS: return "fds-at-fork";
    case FA_KIND_RNG: return "rng-at-fork";
    case FA_KIND_EXEC_FDS: return "fds-leaked-at-exec";
    default: return "fork";
    }
}

static const char *thread_name(const struct fa_snapshot *s, pid_t tid)
{
    for (int i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid) return s->threads[i].name;
    return NULL;
}

/* The most one record may take. A list (threads, descriptors) stops before it and says
 * how many entries it left out ("threads_truncated", "fds_truncated"), so a record stays
 * one valid line, written by one write(2), however large the process and the options. */
#define RECORD_MAX ((size_t)4 << 20)
/* Room kept after a list for what follows it (counts, text's fork stack, the closing):
 * first RECORD_TAIL; a record whose tail needs more is rendered again with more room. */
#define RECORD_TAIL ((size_t)16 << 10)
static FA_TLS size_t tail_room = RECORD_TAIL;

/* Set by write_record()'s last resort, when no buffer larger than the arena's could be
 * mapped: lists are then cut to fit the arena's. Per thread: two threads may report. */
static FA_TLS int cut_to_buffer;

/* After rendering one list entry from `mark`: 0 when it fits, else 1, with the entry
 * taken out again when the record grew past its limit (RECORD_MAX, or the buffer in the
 * last resort). A fixed buffer that overflowed otherwise just stops: write_record()
 * renders the record again in a larger one. */
static int list_entry_overflows(struct fa_buf *b, size_t mark)
{
    size_t limit = cut_to_buffer && b->cap < RECORD_MAX ? b->cap : RECORD_MAX;
    if (b->truncated && !cut_to_buffer) return 1;
    if (!b->truncated && b->len + tail_room <= limit) return 0;
    b->len = mark;
    b->truncated = 0;
    return 1;
}

/* Renders a record with render(b, ctx) into the arena's buffer, else into a mapped one
 * that grows up to RECORD_MAX, else (no memory) into the arena's buffer again with its
 * lists cut to fit; writes it with one write(2). A record that still does not fit (its
 * fixed part alone is too large) is dropped whole: the log never holds a torn line. */
static void write_record(struct fa_snapshot *s, void (*render)(struct fa_buf *, void *), void *ctx)
{
    struct fa_buf b;
    fa_buf_fixed(&b, s->render, s->render_len);
    render(&b, ctx);
    if (b.truncated && fa_buf_mapped(&b, s->render_len * 2) == 0) { /* a huge record */
        b.limit = RECORD_MAX; /* a hard cap: the tail too must fit below it */
        render(&b, ctx);
        while (b.truncated && tail_room < RECORD_MAX / 2) { /* the tail outgrew its room */
            tail_room *= 4;
            b.len = 0;
            b.truncated = 0;
            render(&b, ctx);
        }
        tail_room = RECORD_TAIL;
        int fits = !b.truncated;
        if (fits) fa_log_write(b.p, b.len);
        fa_buf_release(&b);
        if (fits) return;
    }
    if (b.truncated || !b.p) {
        cut_to_buffer = 1;
        fa_buf_fixed(&b, s->render, s->render_len);
        render(&b, ctx);
        cut_to_buffer = 0;
    }
    if (!b.truncated && b.len) fa_log_write(b.p, b.len);
}

/* ---------------------------------------------------------------- JSON */

/* The bytes glibc's _start takes up to its call's return address (x86-64: 0x25). */
#define FA_ENTRY_STUB_MAX 48

/* Whether pc is in the function that holds the program's entry point: the symbol that
 * covers AT_ENTRY (_start, or whatever a program names it); in an executable without
 * symbols, within the few bytes glibc's _start takes (its call to __libc_start_main). */
static int is_entry_function(uintptr_t pc, const struct fa_frame_info *fi)
{
    uintptr_t entry = (uintptr_t)getauxval(AT_ENTRY);
    if (!entry || pc <= entry) return 0;
    struct fa_frame_info efi;
    fa_symbolize(entry, 0, &efi);
    if (!efi.function) return !fi->function && pc - entry <= FA_ENTRY_STUB_MAX;
    return fi->function && fi->module && efi.module && strcmp(fi->module, efi.module) == 0 &&
           fi->function_len == efi.function_len && strncmp(fi->function, efi.function, efi.function_len) == 0 &&
           pc - fi->function_offset == entry - efi.function_offset;
}

/* A thread's first frame: the program's entry point (_start) or the C library's thread
 * start (clone3; unnamed in a libc without symbols). Unwinding that ends there is whole. */
static int is_first_frame(uintptr_t pc, const struct fa_frame_info *fi)
{
    static const char *const roots[] = {"_start", "clone3", "clone", "__clone", "__clone3", "start_thread"};
    if (is_entry_function(pc, fi)) return 1;
    if (fi->function) {
        for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++)
            if (strlen(roots[i]) == fi->function_len && strncmp(roots[i], fi->function, fi->function_len) == 0)
                return 1;
        return 0;
    }
    const char *base = fi->module ? strrchr(fi->module, '/') : NULL;
    return base && strncmp(base + 1, "libc.so", 7) == 0;
}

const char *fa_stack_truncation(const uintptr_t *pc, int n)
{
    if (n <= 0) return NULL;
    uintptr_t last = pc[n - 1];
    if (last & FA_PC_MORE) return "stack_depth";
    if (last & FA_PC_ASTRAY) return "unwinder";
    struct fa_frame_info fi;
    fa_symbolize(last, 1, &fi);
    return is_first_frame(fa_pc(last), &fi) ? NULL : "unwinder";
}

const uintptr_t *fa_held_frames(const uintptr_t *frames, int n, uintptr_t *one)
{
    /* lock_stack_depth=1 keeps the call site only, and the fast paths store it unmarked. */
    if (n != 1 || fa_opts.lock_stack_depth > 1) return frames;
    *one = frames[0] | FA_PC_MORE;
    return one;
}

void fa_render_held_frames_json(struct fa_buf *b, const uintptr_t *frames, int n)
{
    uintptr_t one;
    fa_render_frames_json(b, fa_held_frames(frames, n, &one), n);
}

void fa_render_frames_json(struct fa_buf *b, const uintptr_t *pc, int n)
{
    const char *truncated = fa_stack_truncation(pc, n);
    fa_putc(b, '[');
    for (int i = 0; i < n; i++) {
        struct fa_frame_info fi;
        fa_symbolize(pc[i], 1, &fi);
        if (i) fa_putc(b, ',');
        fa_puts(b, "{\"pc\":\"");
        fa_put_hex(b, fa_pc(pc[i]));
        fa_putc(b, '"');
        if (fi.module) {
            fa_puts(b, ",\"module\":");
            fa_put_json_str(b, fi.module);
            fa_puts(b, ",\"offset\":\"");
            fa_put_hex(b, fi.offset);
            fa_putc(b, '"');
        }
        if (fi.function) {
            fa_puts(b, ",\"function\":");
            fa_put_json_strn(b, fi.function, fi.function_len);
            fa_puts(b, ",\"function_offset\":\"");
            fa_put_hex(b, fi.function_offset);
            fa_putc(b, '"');
        }
        if (truncated && i == n - 1) { /* the stack goes on past this frame, unseen */
            fa_puts(b, ",\"truncated\":true,\"truncated_by\":\"");
            fa_puts(b, truncated);
            fa_putc(b, '"');
        }
        fa_putc(b, '}');
    }
    fa_putc(b, ']');
}

static void json_key_int(struct fa_buf *b, const char *key, long long v)
{
    fa_puts(b, ",\"");
    fa_puts(b, key);
    fa_puts(b, "\":");
    fa_put_dec(b, v);
}

static void json_header(struct fa_buf *b, const struct fa_snapshot *s, enum fa_kind kind, int index)
{
    fa_puts(b, "{\"kind\":\"");
    fa_puts(b, kind_name(kind));
    fa_puts(b, "\",\"severity\":\"");
    fa_puts(b, severity_of(s, kind, index));
    fa_putc(b, '"');
    json_key_int(b, "pid", s->pid);
    json_key_int(b, "ppid", s->ppid);
    json_key_int(b, "tid", s->tid);
    /* An exec names the fork that made its process, as child records do, when one did. */
    if (kind != FA_KIND_EXEC_FDS || s->seq > 0) {
        fa_puts(b, ",\"fork\":{\"seq\":");
        fa_put_udec(b, s->seq);
        if (s->child > 0) json_key_int(b, "child_pid", s->child);
        fa_puts(b, ",\"via\":\"");
        fa_puts(b, s->via);
        fa_puts(b, "\"}");
    }
    if (kind == FA_KIND_EXEC_FDS) {
        fa_puts(b, ",\"exec\":{\"path\":");
        fa_put_json_str(b, s->exec_path);
        if (s->exec_argv0) {
            fa_puts(b, ",\"argv0\":");
            fa_put_json_str(b, s->exec_argv0);
        }
        fa_puts(b, ",\"via\":\"");
        fa_puts(b, s->exec_via);
        fa_puts(b, "\"}");
    }
    fa_puts(b, ",\"stack\":");
    fa_render_frames_json(b, s->stack.pc, s->stack.n);
}

/* A lock as a JSON object; `self_key` names the flag that says the holder is the thread
 * that reports ("holder_is_forking_thread", "holder_is_receiving_thread"). */
static void lock_object_json(struct fa_buf *b, const struct fa_held *h, pid_t holder, const char *holder_name,
                             const char *self_key, int holder_is_self, int holder_gone)
{
    fa_puts(b, "{\"type\":\"");
    fa_puts(b, fa_lock_type_name(h->type));
    fa_puts(b, "\",\"addr\":\"");
    fa_put_hex(b, (uintptr_t)h->addr);
    fa_putc(b, '"');
    if (h->type == FA_LOCK_MUTEX || h->type == FA_LOCK_MTX) {
        fa_puts(b, ",\"mutex_type\":\"");
        fa_puts(b, fa_mutex_kind_name(h->kind));
        fa_puts(b, h->kind & FA_MUTEX_KIND_ROBUST ? "\",\"robust\":true" : "\",\"robust\":false");
        fa_puts(b, h->kind & FA_MUTEX_KIND_PI ? ",\"priority_inheritance\":true" : ",\"priority_inheritance\":false");
    }
    if (h->type == FA_LOCK_RWLOCK) fa_puts(b, h->flags & FA_HELD_READ ? ",\"mode\":\"read\"" : ",\"mode\":\"write\"");
    json_key_int(b, "depth", h->depth);
    json_key_int(b, "holder_tid", holder);
    if (holder_name) {
        fa_puts(b, ",\"holder_name\":");
        fa_put_json_str(b, holder_name);
    }
    fa_puts(b, ",\"");
    fa_puts(b, self_key);
    fa_puts(b, holder_is_self ? "\":true" : "\":false");
    if (holder_gone) fa_puts(b, ",\"holder_gone\":true");
    fa_puts(b, ",\"acquired_at\":");
    fa_render_held_frames_json(b, h->frames, h->nframes);
    fa_putc(b, '}');
}

void fa_render_lock_json(struct fa_buf *b, const struct fa_held *h, pid_t holder, const char *holder_name,
                         int holder_is_forking_thread, int holder_gone)
{
    fa_puts(b, ",\"lock\":");
    lock_object_json(b, h, holder, holder_name, "holder_is_forking_thread", holder_is_forking_thread, holder_gone);
}

static const char *stack_missing(int state)
{
    switch (state) {
    case FA_STACK_NO_ANSWER: return "no answer within 100 ms (thread stopped or too slow)";
    case FA_STACK_BUSY: return "not safe to unwind (inside forkaudit, on an alternate signal stack, or not started by pthread_create)";
    case FA_STACK_BLOCKED: return "the thread blocks stack_signal";
    case FA_STACK_TOO_MANY: return "not asked: more than 1024 other threads at the fork";
    case FA_STACK_TIGHT: return "too near the end of its stack to unwind (less than 12 KiB left)";
    case FA_STACK_UNAVAILABLE: return "stack_signal is the program's, or another fork was collecting";
    default: return NULL;
    }
}

/* ,"start_routine":name (or its address),"created_at":[frames] for a thread made through
 * pthread_create; nothing for the others. */
static void json_thread_origin(struct fa_buf *b, const struct fa_snap_thread *t)
{
    if (!t->start_routine) return;
    struct fa_frame_info fi;
    fa_symbolize((uintptr_t)t->start_routine, 0, &fi);
    fa_puts(b, ",\"start_routine\":");
    if (fi.function && fi.function_offset == 0) fa_put_json_strn(b, fi.function, fi.function_len);
    else {
        fa_putc(b, '"');
        fa_put_hex(b, (uintptr_t)t->start_routine);
        fa_putc(b, '"');
    }
    fa_puts(b, ",\"created_at\":");
    fa_render_frames_json(b, t->created_at, t->ncreated);
}

/* ,"KEY":[frames] for a thread whose stack at fork is known, ,"KEY_missing":"why" else. */
static void json_thread_stack(struct fa_buf *b, const struct fa_snap_thread *t, const char *key)
{
    if (t->stack_state == FA_STACK_OK) {
        fa_puts(b, ",\"");
        fa_puts(b, key);
        fa_puts(b, "\":");
        fa_render_frames_json(b, t->stack, t->nstack);
    } else if (stack_missing(t->stack_state)) {
        fa_puts(b, ",\"");
        fa_puts(b, key);
        fa_puts(b, "_missing\":\"");
        fa_puts(b, stack_missing(t->stack_state));
        fa_putc(b, '"');
    }
}

static const struct fa_snap_thread *thread_of(const struct fa_snapshot *s, pid_t tid)
{
    for (int i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid) return &s->threads[i];
    return NULL;
}

void fa_render_child_record_json(struct fa_buf *b, const char *kind, const char *severity, const uintptr_t *pc,
                                 int n)
{
    pid_t pid = fa_getpid();
    fa_puts(b, "{\"kind\":\"");
    fa_puts(b, kind);
    fa_puts(b, "\",\"severity\":\"");
    fa_puts(b, severity);
    fa_putc(b, '"');
    json_key_int(b, "pid", pid);
    json_key_int(b, "ppid", syscall(SYS_getppid));
    json_key_int(b, "tid", fa_self ? fa_self->tid : fa_gettid());
    fa_puts(b, ",\"fork\":{\"seq\":");
    fa_put_udec(b, fa_proc.born_seq);
    json_key_int(b, "child_pid", pid);
    fa_puts(b, ",\"via\":\"");
    fa_puts(b, fa_proc.born_via ? fa_proc.born_via : "fork");
    fa_puts(b, "\"},\"stack\":");
    fa_render_frames_json(b, pc, n);
}

void fa_report_write(const struct fa_buf *b)
{
    if (!b->truncated && b->len) fa_log_write(b->p, b->len);
}

/* The function name of a thread's start routine, for suppressions ("" when unknown). */
static void start_routine_name(const struct fa_snap_thread *t, char *out, size_t cap)
{
    fa_function_name(t->start_routine, out, cap);
}

/* What names a descriptor in a rule: its path; else (pipes, sockets: their numbers change
 * every run) where it was opened, or its kind of target. */
static const char *fd_pattern(const struct fa_snap_fd *f)
{
    if (f->target[0] == '/') return f->target;
    if (!strncmp(f->target, "pipe:", 5)) return "pipe:*";
    if (!strncmp(f->target, "socket:", 7)) return "socket:*";
    return f->target;
}

/* ,"suppression":"kind:pattern" — the rule that would silence this finding. */
static void json_suggestion(struct fa_buf *b, const char *kind, const uintptr_t *pc, int n, const char *text)
{
    char rule[300];
    struct fa_buf rb;
    fa_buf_fixed(&rb, rule, sizeof rule);
    fa_suppress_suggest(&rb, kind, pc, n, text);
    fa_buf_terminate(&rb);
    fa_puts(b, ",\"suppression\":");
    fa_put_json_str(b, rule);
}

static void json_body(struct fa_buf *b, const struct fa_snapshot *s, enum fa_kind kind, int index)
{
    switch (kind) {
    case FA_KIND_THREADS:
        fa_puts(b, ",\"threads\":[");
        int shown = 0;
        for (int i = 0; i < s->nthreads; i++, shown++) {
            const struct fa_snap_thread *t = &s->threads[i];
            size_t mark = b->len;
            if (i) fa_putc(b, ',');
            fa_puts(b, "{\"tid\":");
            fa_put_dec(b, t->tid);
            fa_puts(b, ",\"name\":");
            fa_put_json_str(b, t->name);
            json_thread_origin(b, t);
            json_thread_stack(b, t, "stack_at_fork");
            char name[128];
            start_routine_name(t, name, sizeof name);
            json_suggestion(b, "threads-at-fork", name[0] ? NULL : t->created_at, name[0] ? 0 : t->ncreated,
                            name[0] ? name : NULL);
            fa_putc(b, '}');
            if (list_entry_overflows(b, mark)) break;
        }
        fa_putc(b, ']');
        if (shown < s->nthreads) json_key_int(b, "threads_truncated", s->nthreads - shown);
        if (s->threads_dropped) json_key_int(b, "threads_dropped", (long long)s->threads_dropped);
        if (s->threads_untracked) json_key_int(b, "threads_untracked", (long long)s->threads_untracked);
        break;
    case FA_KIND_LOCK: {
        const struct fa_snap_lock *l = &s->locks[index];
        fa_render_lock_json(b, &l->held, l->holder, l->holder_is_forking_thread ? NULL : thread_name(s, l->holder),
                            l->holder_is_forking_thread, l->holder_gone);
        const struct fa_snap_thread *holder = l->holder_is_forking_thread ? NULL : thread_of(s, l->holder);
        if (holder) { /* inside "lock": reopen it for the holder's stack */
            b->len--;
            json_thread_stack(b, holder, "holder_stack_at_fork");
            fa_putc(b, '}');
        }
        json_suggestion(b, "lock-held-at-fork", l->held.frames, l->held.nframes, NULL);
        break;
    }
    case FA_KIND_FDS:
    case FA_KIND_EXEC_FDS:
        fa_puts(b, ",\"fds\":[");
        int fds_shown = 0;
        for (int i = 0; i < s->nfds; i++, fds_shown++) {
            const struct fa_snap_fd *f = &s->fds[i];
            size_t mark = b->len;
            if (i) fa_putc(b, ',');
            fa_puts(b, "{\"fd\":");
            fa_put_dec(b, f->fd);
            fa_puts(b, ",\"target\":");
            fa_put_json_str(b, f->target);
            fa_puts(b, ",\"type\":\"");
            fa_puts(b, f->type);
            fa_puts(b, "\",\"access\":\"");
            fa_puts(b, fa_fd_access(f->flags));
            fa_puts(b, f->cloexec ? "\",\"cloexec\":true" : "\",\"cloexec\":false");
            if (f->offset >= 0) json_key_int(b, "offset", f->offset);
            if (f->opened_by) {
                fa_puts(b, ",\"opened_by\":\"");
                fa_puts(b, f->opened_by);
                fa_puts(b, "\",\"opened_at\":");
                fa_render_frames_json(b, f->frames, f->nframes);
            }
            json_suggestion(b, kind_name(kind), f->target[0] == '/' ? NULL : f->frames, f->target[0] == '/' ? 0 : f->nframes,
                            fd_pattern(f));
            fa_putc(b, '}');
            if (list_entry_overflows(b, mark)) break;
        }
        fa_putc(b, ']');
        if (fds_shown < s->nfds) json_key_int(b, "fds_truncated", s->nfds - fds_shown);
        if (s->fds_dropped) json_key_int(b, "fds_dropped", (long long)s->fds_dropped);
        if (s->fds_untracked) json_key_int(b, "fds_untracked", (long long)s->fds_untracked);
        if (s->fds_unchecked) json_key_int(b, "fds_unchecked", (long long)s->fds_unchecked);
        break;
    case FA_KIND_RNG: {
        const struct fa_snap_rng *r = &s->rng[index];
        fa_puts(b, ",\"rng\":{\"family\":\"");
        fa_puts(b, fa_rng_family_name(r->family, &r->state));
        fa_putc(b, '"');
        if (r->state.seeded) {
            json_key_int(b, "seed", (long long)r->state.seed);
            fa_puts(b, ",\"seeded_by\":\"");
            fa_puts(b, r->state.seeded_by);
            fa_puts(b, "\",\"seeded_at\":");
            fa_render_frames_json(b, r->state.frames, r->state.nframes);
        } else {
            fa_puts(b, ",\"seeded_at\":[]");
        }
        json_key_int(b, "draws", (long long)r->state.draws);
        fa_putc(b, '}');
        json_suggestion(b, "rng-at-fork", r->state.frames, r->state.nframes, NULL);
        break;
    }
    case FA_KIND_FORK:
        break;
    }
}

/* ---------------------------------------------------------------- text */

void fa_render_prefix(struct fa_buf *b, pid_t pid)
{
    fa_puts(b, "==");
    fa_put_dec(b, pid);
    fa_puts(b, "== ");
}

static void text_prefix(struct fa_buf *b, const struct fa_snapshot *s) { fa_render_prefix(b, s->pid); }

static void text_suggestion(struct fa_buf *b, const struct fa_snapshot *s, const char *indent, const char *kind,
                            const uintptr_t *pc, int n, const char *text)
{
    text_prefix(b, s);
    fa_puts(b, indent);
    fa_puts(b, "suppress with: ");
    fa_suppress_suggest(b, kind, pc, n, text);
    fa_putc(b, '\n');
}


static void text_frames(struct fa_buf *b, const struct fa_snapshot *s, const uintptr_t *pc, int n, const char *indent)
{
    fa_render_frames_text(b, s->pid, pc, n, indent);
}

void fa_render_frames_text(struct fa_buf *b, pid_t pid, const uintptr_t *pc, int n, const char *indent)
{
    if (n == 0) {
        fa_render_prefix(b, pid);
        fa_puts(b, indent);
        fa_puts(b, "(no stack)\n");
    }
    for (int i = 0; i < n; i++) {
        struct fa_frame_info fi;
        fa_symbolize(pc[i], 1, &fi);
        fa_render_prefix(b, pid);
        fa_puts(b, indent);
        fa_putc(b, '#');
        fa_put_dec(b, i);
        fa_putc(b, ' ');
        fa_put_hex(b, fa_pc(pc[i]));
        if (fi.function) {
            fa_puts(b, " in ");
            fa_putsn(b, fi.function, fi.function_len);
            fa_putc(b, '+');
            fa_put_hex(b, fi.function_offset);
        }
        if (fi.module) {
            fa_puts(b, " (");
            fa_puts(b, fi.module);
            fa_putc(b, '+');
            fa_put_hex(b, fi.offset);
            fa_putc(b, ')');
        }
        fa_putc(b, '\n');
    }
    /* A stack that is not whole says so (a single call site says so where it is shown). */
    const char *truncated = fa_stack_truncation(pc, n);
    if (truncated && (n > 1 || strcmp(truncated, "unwinder") == 0)) {
        fa_render_prefix(b, pid);
        fa_puts(b, indent);
        fa_puts(b, strcmp(truncated, "unwinder") == 0
                       ? "... (unwinding stopped: the caller of the frame above has no unwind information)\n"
                       : "... (deeper frames not recorded: stack_depth)\n");
    }
}

/* "fork #N (child C, via V)" */
static void text_fork_ref(struct fa_buf *b, const struct fa_snapshot *s)
{
    fa_puts(b, "fork #");
    fa_put_udec(b, s->seq);
    fa_puts(b, " (");
    if (s->child > 0) {
        fa_puts(b, "child ");
        fa_put_dec(b, s->child);
        fa_puts(b, ", ");
    }
    fa_puts(b, "via ");
    fa_puts(b, s->via);
    fa_putc(b, ')');
}

static void text_line(struct fa_buf *b, const struct fa_snapshot *s, const char *text)
{
    text_prefix(b, s);
    fa_puts(b, text);
}

static int same_frames(const uintptr_t *a, int na, const uintptr_t *b, int nb)
{
    return na == nb && memcmp(a, b, (size_t)na * sizeof a[0]) == 0;
}

static void text_fork_stack(struct fa_buf *b, const struct fa_snapshot *s)
{
    text_prefix(b, s);
    fa_puts(b, "  fork called by thread ");
    fa_put_dec(b, s->tid);
    fa_puts(b, " at:\n");
    text_frames(b, s, s->stack.pc, s->stack.n, "    ");
}

/* ", start routine NAME, created at:" and the frames (indented by `indent`) for a thread
 * made through pthread_create; returns 0, writing nothing, for the others. */
static int text_thread_origin(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_thread *t,
                              const char *indent)
{
    if (!t->start_routine) return 0;
    struct fa_frame_info fi;
    fa_symbolize((uintptr_t)t->start_routine, 0, &fi);
    fa_puts(b, ", start routine ");
    if (fi.function && fi.function_offset == 0) fa_putsn(b, fi.function, fi.function_len);
    else fa_put_hex(b, (uintptr_t)t->start_routine);
    fa_puts(b, ", created at:\n");
    text_frames(b, s, t->created_at, t->ncreated, indent);
    return 1;
}

/* A thread's stack at fork, or why it is missing. */
static void text_thread_stack(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_thread *t,
                              const char *title)
{
    if (t->stack_state == FA_STACK_OK) {
        text_line(b, s, title);
        text_frames(b, s, t->stack, t->nstack, "      ");
    } else if (stack_missing(t->stack_state)) {
        text_prefix(b, s);
        fa_puts(b, "    (stack at fork unknown: ");
        fa_puts(b, stack_missing(t->stack_state));
        fa_puts(b, ")\n");
    }
}

/* "... and N more not shown" when a list stopped at the record size limit. */
static void text_truncated_note(struct fa_buf *b, const struct fa_snapshot *s, const char *indent, int n)
{
    if (n <= 0) return;
    text_prefix(b, s);
    fa_puts(b, indent);
    fa_puts(b, "... and ");
    fa_put_dec(b, n);
    fa_puts(b, " more not shown: the record reached its size limit\n");
}

/* One line per descriptor, its opening site below. At an exec every listed descriptor
 * lacks close-on-exec and the offset shared with a forked parent is beside the point. */
static void text_fd_list(struct fa_buf *b, const struct fa_snapshot *s, int at_exec)
{
    int shown = 0;
    for (int i = 0; i < s->nfds; i++, shown++) {
        const struct fa_snap_fd *f = &s->fds[i];
        size_t mark = b->len;
        text_prefix(b, s);
        fa_puts(b, "  fd ");
        fa_put_dec(b, f->fd);
        fa_puts(b, " -> ");
        fa_puts(b, f->target);
        fa_puts(b, " (");
        fa_puts(b, f->type);
        fa_puts(b, ", ");
        fa_puts(b, fa_fd_access(f->flags));
        if (!at_exec)
            fa_puts(b, f->cloexec ? ", close-on-exec" : ", no close-on-exec: also leaks into exec'd programs");
        fa_puts(b, ")\n");
        if (f->offset >= 0 && !at_exec) {
            text_prefix(b, s);
            fa_puts(b, "    parent and child share this open file description and its offset (now ");
            fa_put_dec(b, f->offset);
            fa_puts(b, ")\n");
        }
        if (f->opened_by) {
            text_prefix(b, s);
            fa_puts(b, "    opened by ");
            fa_puts(b, f->opened_by);
            const struct fa_snap_fd *prev = i > 0 ? &s->fds[i - 1] : NULL;
            if (prev && prev->opened_by && same_frames(prev->frames, prev->nframes, f->frames, f->nframes)) {
                /* pipe and socketpair ends: say it once */
                fa_puts(b, " at the same place as fd ");
                fa_put_dec(b, prev->fd);
                fa_putc(b, '\n');
            } else {
                fa_puts(b, " at:\n");
                text_frames(b, s, f->frames, f->nframes, "      ");
            }
        }
        text_suggestion(b, s, "    ", at_exec ? "fds-leaked-at-exec" : "fds-at-fork", f->target[0] == '/' ? NULL : f->frames,
                        f->target[0] == '/' ? 0 : f->nframes, fd_pattern(f));
        if (list_entry_overflows(b, mark)) break;
    }
    text_truncated_note(b, s, "  ", s->nfds - shown);
    if (s->fds_dropped) {
        text_prefix(b, s);
        fa_puts(b, "  ... and ");
        fa_put_udec(b, s->fds_dropped);
        fa_puts(b, " more (max_fds)\n");
    }
    if (s->fds_unchecked) {
        text_prefix(b, s);
        fa_puts(b, "  ... and up to ");
        fa_put_udec(b, s->fds_unchecked);
        fa_puts(b, " more: past max_fds, their close-on-exec flags were not read\n");
    }
    if (s->fds_untracked) {
        text_prefix(b, s);
        fa_puts(b, "  (");
        fa_put_udec(b, s->fds_untracked);
        fa_puts(b, s->fds_untracked == 1 ? " of them is" : " of them are");
        fa_puts(b, " numbered " FA_STR(FA_FD_TRACKED) " or above: no opening site is kept for those)\n");
    }
}

/* The exec's stack, in its record. */
static void text_exec_stack(struct fa_buf *b, const struct fa_snapshot *s)
{
    text_prefix(b, s);
    fa_puts(b, "  ");
    fa_puts(b, s->exec_via);
    fa_puts(b, " called by thread ");
    fa_put_dec(b, s->tid);
    fa_puts(b, " at:\n");
    text_frames(b, s, s->stack.pc, s->stack.n, "    ");
}

static void text_body(struct fa_buf *b, const struct fa_snapshot *s, enum fa_kind kind, int index)
{
    const char *sev = severity_of(s, kind, index);
    text_prefix(b, s);
    fa_puts(b, "forkaudit: ");
    fa_puts(b, strcmp(sev, "error") == 0 ? "ERROR: " : "WARNING: ");
    fa_puts(b, kind_name(kind));
    fa_puts(b, ": ");
    switch (kind) {
    case FA_KIND_THREADS:
        fa_put_dec(b, s->nthreads + (long long)s->threads_dropped);
        fa_puts(b, s->nthreads + s->threads_dropped == 1 ? " other thread was" : " other threads were");
        fa_puts(b, " running at ");
        text_fork_ref(b, s);
        fa_puts(b, "\n");
        text_line(b, s, "  the child has none of them: work they were doing and locks they held are gone\n");
        int shown = 0;
        for (int i = 0; i < s->nthreads; i++, shown++) {
            const struct fa_snap_thread *t = &s->threads[i];
            size_t mark = b->len;
            text_prefix(b, s);
            fa_puts(b, "  thread ");
            fa_put_dec(b, t->tid);
            fa_puts(b, " \"");
            fa_puts(b, t->name);
            fa_putc(b, '"');
            if (!text_thread_origin(b, s, t, "    "))
                fa_puts(b, " (creation site unknown: not made through the interposed pthread_create)\n");
            text_thread_stack(b, s, t, "    at the fork it was at:\n");
            char name[128];
            start_routine_name(t, name, sizeof name);
            text_suggestion(b, s, "    ", "threads-at-fork", name[0] ? NULL : t->created_at, name[0] ? 0 : t->ncreated,
                            name[0] ? name : NULL);
            if (list_entry_overflows(b, mark)) break;
        }
        text_truncated_note(b, s, "  ", s->nthreads - shown);
        if (s->threads_dropped) {
            text_prefix(b, s);
            fa_puts(b, "  ... and ");
            fa_put_udec(b, s->threads_dropped);
            fa_puts(b, " more (max_threads)\n");
        }
        break;
    case FA_KIND_LOCK: {
        const struct fa_snap_lock *l = &s->locks[index];
        fa_puts(b, fa_lock_type_name(l->held.type));
        fa_putc(b, ' ');
        fa_put_hex(b, (uintptr_t)l->held.addr);
        if (l->held.type == FA_LOCK_MUTEX) {
            fa_puts(b, " (");
            fa_puts(b, fa_mutex_kind_name(l->held.kind));
            if (l->held.kind & FA_MUTEX_KIND_ROBUST) fa_puts(b, ", robust");
            if (l->held.kind & FA_MUTEX_KIND_PI) fa_puts(b, ", priority-inheritance");
            fa_putc(b, ')');
        }
        if (l->holder_is_forking_thread) {
            fa_puts(b, " is held by the forking thread ");
            fa_put_dec(b, l->holder);
        } else if (l->holder_gone) {
            fa_puts(b, " is held by thread ");
            fa_put_dec(b, l->holder);
            fa_puts(b, " of an ancestor process, which this process does not have");
        } else {
            const char *hn = thread_name(s, l->holder);
            fa_puts(b, " is held by thread ");
            fa_put_dec(b, l->holder);
            if (hn) {
                fa_puts(b, " \"");
                fa_puts(b, hn);
                fa_putc(b, '"');
            }
        }
        fa_puts(b, " at ");
        text_fork_ref(b, s);
        fa_puts(b, "\n");
        if (l->holder_is_forking_thread && fa_held_owner_checked(l->held.type, l->held.kind))
            text_line(b, s, "  the child inherits it locked and cannot even unlock it: glibc checks the owner's tid, and the child's thread has another\n");
        else if (l->holder_is_forking_thread)
            text_line(b, s, "  the child inherits it locked: only the child's own unlock can free it; locking it first deadlocks\n");
        else if (l->holder_gone)
            text_line(b, s, "  this process inherited it locked at an earlier fork, and so does the child: nobody will unlock it\n");
        else
            text_line(b, s, "  the child inherits it locked and has no thread that will ever unlock it\n");
        text_prefix(b, s);
        fa_puts(b, "  acquired by thread ");
        fa_put_dec(b, l->holder);
        if (l->held.depth > 1) {
            fa_puts(b, " (depth ");
            fa_put_udec(b, l->held.depth);
            fa_putc(b, ')');
        }
        fa_puts(b, " at:\n");
        uintptr_t one;
        text_frames(b, s, fa_held_frames(l->held.frames, l->held.nframes, &one), l->held.nframes, "    ");
        if (l->held.nframes == 1)
            text_line(b, s, "    (the call site only: lock_stack_depth=8 records deeper acquisition stacks)\n");
        const struct fa_snap_thread *holder = l->holder_is_forking_thread ? NULL : thread_of(s, l->holder);
        if (holder) text_thread_stack(b, s, holder, "  and at the fork the holder was at:\n");
        text_suggestion(b, s, "  ", "lock-held-at-fork", l->held.frames, l->held.nframes, NULL);
        break;
    }
    case FA_KIND_FDS:
        fa_puts(b, "the child inherits ");
        fa_put_dec(b, s->nfds + (long long)s->fds_dropped);
        fa_puts(b, s->nfds + s->fds_dropped == 1 ? " file descriptor" : " file descriptors");
        fa_puts(b, " at ");
        text_fork_ref(b, s);
        fa_puts(b, "\n");
        text_fd_list(b, s, 0);
        break;
    case FA_KIND_RNG: {
        const struct fa_snap_rng *r = &s->rng[index];
        fa_puts(b, "the ");
        fa_puts(b, fa_rng_family_name(r->family, &r->state));
        fa_puts(b, "() generator was ");
        if (r->state.seeded) {
            fa_puts(b, "seeded with ");
            fa_put_udec(b, r->state.seed);
        } else {
            fa_puts(b, "never seeded (fixed default seed)");
        }
        fa_puts(b, " and drawn ");
        fa_put_udec(b, r->state.draws);
        fa_puts(b, r->state.draws == 1 ? " time before " : " times before ");
        text_fork_ref(b, s);
        fa_puts(b, "\n");
        text_line(b, s, "  the child continues the parent's sequence: parent and child draw the same numbers\n");
        if (r->state.seeded) {
            text_prefix(b, s);
            fa_puts(b, "  seeded by ");
            fa_puts(b, r->state.seeded_by);
            fa_puts(b, " at:\n");
            text_frames(b, s, r->state.frames, r->state.nframes, "    ");
        }
        text_suggestion(b, s, "  ", "rng-at-fork", r->state.frames, r->state.nframes, NULL);
        break;
    }
    case FA_KIND_EXEC_FDS: {
        long long n = s->nfds + (long long)s->fds_dropped;
        fa_put_dec(b, n);
        if (s->fds_unchecked) {
            fa_puts(b, " (and up to ");
            fa_put_udec(b, s->fds_unchecked);
            fa_puts(b, " more)");
        }
        fa_puts(b, n == 1 && !s->fds_unchecked ? " file descriptor passes into " : " file descriptors pass into ");
        fa_puts(b, s->exec_path);
        fa_puts(b, " (");
        fa_puts(b, s->exec_via);
        fa_puts(b, ")\n");
        text_line(b, s, "  without close-on-exec they stay open in the new program (open them with O_CLOEXEC)\n");
        text_fd_list(b, s, 1);
        break;
    }
    case FA_KIND_FORK:
        break;
    }
    /* Text: the fork's stack once per fork, in its first record; an exec's in its own. */
    if (kind == FA_KIND_EXEC_FDS) text_exec_stack(b, s);
    else if (!s->fork_stack_shown) text_fork_stack(b, s);
    text_line(b, s, "\n");
}

static void count_findings(const struct fa_snapshot *s, int *errors, int *warnings)
{
    *errors = *warnings = 0;
    for (int i = 0; i < s->nlocks; i++) {
        if (lock_is_error(&s->locks[i])) ++*errors;
        else ++*warnings;
    }
    *warnings += (s->nthreads > 0) + (s->nfds > 0) + s->nrng;
}

/* " (N what)" when N is not zero. */
static void count_note(struct fa_buf *b, unsigned long n, const char *what)
{
    if (!n) return;
    fa_puts(b, " (");
    fa_put_udec(b, n);
    fa_puts(b, what);
    fa_putc(b, ')');
}

static void render_fork(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_options *o)
{
    int errors, warnings;
    count_findings(s, &errors, &warnings);
    if (o->format == FA_FORMAT_JSON) {
        json_header(b, s, FA_KIND_FORK, 0);
        json_key_int(b, "errors", errors);
        json_key_int(b, "warnings", warnings);
        json_key_int(b, "threads", s->nthreads + (long long)s->threads_dropped);
        json_key_int(b, "locks_held", s->nlocks + (long long)s->locks_dropped);
        json_key_int(b, "locks_protected_by_atfork", (long long)s->locks_protected);
        if (s->locks_dropped) json_key_int(b, "locks_dropped", (long long)s->locks_dropped);
        if (s->locks_overflow) json_key_int(b, "locks_untracked", (long long)s->locks_overflow);
        if (s->threads_dropped) json_key_int(b, "threads_dropped", (long long)s->threads_dropped);
        if (s->threads_untracked) json_key_int(b, "threads_untracked", (long long)s->threads_untracked);
        if (s->fds_dropped) json_key_int(b, "fds_dropped", (long long)s->fds_dropped);
        if (s->fds_untracked) json_key_int(b, "fds_untracked", (long long)s->fds_untracked);
        if (s->semaphores_untracked) json_key_int(b, "semaphores_untracked", (long long)s->semaphores_untracked);
        if (s->fds_listing_errno) json_key_int(b, "fds_listing_errno", s->fds_listing_errno);
        if (s->prepare_unwrapped)
            json_key_int(b, "atfork_handlers_unwrapped", (long long)s->prepare_unwrapped);
        json_key_int(b, "fds", s->nfds + (long long)s->fds_dropped);
        fa_puts(b, ",\"atfork_prepare_handlers\":[");
        for (int i = 0; i < s->nhandlers; i++) {
            struct fa_frame_info fn, obj;
            fa_symbolize((uintptr_t)s->handler[i], 0, &fn);
            fa_symbolize((uintptr_t)s->handler_dso[i], 0, &obj);
            fa_puts(b, i ? ",{" : "{");
            fa_puts(b, "\"function\":");
            if (fn.function) fa_put_json_strn(b, fn.function, fn.function_len);
            else fa_puts(b, "null");
            fa_puts(b, ",\"module\":");
            fa_put_json_str(b, obj.module ? obj.module : fn.module);
            fa_putc(b, '}');
        }
        fa_puts(b, "]}\n");
        return;
    }
    text_prefix(b, s);
    fa_puts(b, "SUMMARY: forkaudit: ");
    text_fork_ref(b, s);
    fa_puts(b, " by thread ");
    fa_put_dec(b, s->tid);
    fa_puts(b, ": ");
    fa_put_dec(b, errors);
    fa_puts(b, errors == 1 ? " error, " : " errors, ");
    fa_put_dec(b, warnings);
    fa_puts(b, warnings == 1 ? " warning" : " warnings");
    count_note(b, s->locks_protected, " held locks protected by atfork handlers");
    count_note(b, s->locks_dropped, " more held locks not reported: max_locks");
    count_note(b, s->locks_overflow, " lock acquisitions not tracked: a thread held more than 64 locks");
    count_note(b, s->threads_dropped, " more threads not listed: max_threads");
    count_note(b, s->threads_untracked, " threads not tracked: thread table full");
    count_note(b, s->fds_dropped, " more descriptors not listed: max_fds");
    count_note(b, s->fds_untracked, " descriptors numbered " FA_STR(FA_FD_TRACKED) " or above, opening sites not kept");
    count_note(b, s->semaphores_untracked, " semaphores not tracked: semaphore registry full");
    count_note(b, s->prepare_unwrapped, " atfork prepare handlers not watched: locks they take may be reported");
    if (s->fds_listing_errno) {
        fa_puts(b, " (/proc/self/fd could not be opened, errno ");
        fa_put_dec(b, s->fds_listing_errno);
        fa_puts(b, s->fds_listing_errno == EMFILE ? ": every descriptor in use" : "");
        fa_puts(b, "; descriptors were found by probing each number)");
    }
    for (int i = 0; i < s->nhandlers; i++) {
        struct fa_frame_info fn;
        fa_symbolize((uintptr_t)s->handler[i], 0, &fn);
        fa_puts(b, i ? ", " : " (atfork prepare handlers that ran: ");
        if (fn.function) fa_putsn(b, fn.function, fn.function_len);
        else fa_put_hex(b, (uintptr_t)s->handler[i]);
        if (fn.module) {
            fa_puts(b, " in ");
            fa_puts(b, fn.module);
        }
        if (i == s->nhandlers - 1) fa_putc(b, ')');
    }
    if (o->verbosity >= 1) {
        fa_puts(b, "; threads ");
        fa_put_dec(b, s->nthreads + (long long)s->threads_dropped);
        fa_puts(b, ", locks held ");
        fa_put_dec(b, s->nlocks + (long long)s->locks_dropped);
        fa_puts(b, ", fds ");
        fa_put_dec(b, s->nfds + (long long)s->fds_dropped);
    }
    fa_putc(b, '\n');
}

void fa_render(struct fa_buf *b, const struct fa_snapshot *s, enum fa_kind kind, int index, const struct fa_options *o)
{
    if (kind == FA_KIND_FORK) {
        render_fork(b, s, o);
        return;
    }
    if (o->format == FA_FORMAT_JSON) {
        json_header(b, s, kind, index);
        json_body(b, s, kind, index);
        fa_puts(b, "}\n");
    } else {
        text_body(b, s, kind, index);
    }
}

struct emit_ctx {
    const struct fa_snapshot *s;
    enum fa_kind kind;
    int index;
    const struct fa_options *o;
};

static void render_emit(struct fa_buf *b, void *ctx)
{
    const struct emit_ctx *e = ctx;
    fa_render(b, e->s, e->kind, e->index, e->o);
}

static void emit(struct fa_snapshot *s, enum fa_kind kind, int index, const struct fa_options *o)
{
    if (strcmp(severity_of(s, kind, index), "error") == 0) __atomic_add_fetch(&fa_proc.errors, 1, __ATOMIC_RELAXED);
    struct emit_ctx e = {s, kind, index, o};
    write_record(s, render_emit, &e);
    s->fork_stack_shown = 1;
}

/* Drops what suppression rules name: a lock, thread or descriptor whose key stacks (or
 * target, or start routine) a rule of its kind matches. The fork's own stack is a key
 * stack of every finding of the fork. */
static void apply_suppressions(struct fa_snapshot *s, enum fa_kind fds_kind)
{
    if (!fa_suppress_any()) return;
    const char *fdk = kind_name(fds_kind);
    int kept = 0;
    for (int i = 0; i < s->nlocks; i++) {
        const struct fa_snap_lock *l = &s->locks[i];
        const struct fa_snap_thread *holder = thread_of(s, l->holder);
        if (fa_suppress_frames("lock-held-at-fork", l->held.frames, l->held.nframes) ||
            (holder && fa_suppress_frames("lock-held-at-fork", holder->stack, holder->nstack)) ||
            fa_suppress_frames("lock-held-at-fork", s->stack.pc, s->stack.n))
            s->suppressed++;
        else
            s->locks[kept++] = *l;
    }
    s->nlocks = kept;
    kept = 0;
    for (int i = 0; i < s->nthreads; i++) {
        const struct fa_snap_thread *t = &s->threads[i];
        char name[128];
        start_routine_name(t, name, sizeof name);
        if ((name[0] && fa_suppress_text("threads-at-fork", name)) ||
            fa_suppress_frames("threads-at-fork", t->created_at, t->ncreated) ||
            fa_suppress_frames("threads-at-fork", t->stack, t->nstack) ||
            fa_suppress_frames("threads-at-fork", s->stack.pc, s->stack.n))
            s->suppressed++;
        else if (kept++ != i)
            s->threads[kept - 1] = *t;
    }
    s->nthreads = kept;
    kept = 0;
    for (int i = 0; i < s->nfds; i++) {
        const struct fa_snap_fd *f = &s->fds[i];
        if (fa_suppress_text(fdk, f->target) || fa_suppress_frames(fdk, f->frames, f->nframes) ||
            fa_suppress_frames(fdk, s->stack.pc, s->stack.n))
            s->suppressed++;
        else if (kept++ != i)
            s->fds[kept - 1] = *f;
    }
    s->nfds = kept;
    kept = 0;
    for (int i = 0; i < s->nrng; i++) {
        const struct fa_snap_rng *r = &s->rng[i];
        if (fa_suppress_frames("rng-at-fork", r->state.frames, r->state.nframes) ||
            fa_suppress_frames("rng-at-fork", s->stack.pc, s->stack.n))
            s->suppressed++;
        else
            s->rng[kept++] = *r;
    }
    s->nrng = kept;
}

int fa_snapshot_overflowed(const struct fa_snapshot *s)
{
    return s->locks_dropped || s->locks_overflow || s->threads_dropped || s->threads_untracked || s->fds_dropped ||
           s->fds_untracked || s->semaphores_untracked || s->prepare_unwrapped || s->fds_listing_errno;
}

void fa_report_snapshot(struct fa_snapshot *s, const struct fa_options *o)
{
    apply_suppressions(s, FA_KIND_FDS);
    int findings = s->nlocks + (s->nthreads > 0) + (s->nfds > 0) + s->nrng;
    int overflowed = fa_snapshot_overflowed(s);
    for (int i = 0; i < s->nlocks; i++) emit(s, FA_KIND_LOCK, i, o);
    if (s->nthreads > 0) emit(s, FA_KIND_THREADS, 0, o);
    if (s->nfds > 0) emit(s, FA_KIND_FDS, 0, o);
    for (int i = 0; i < s->nrng; i++) emit(s, FA_KIND_RNG, i, o);
    if (findings > 0 ? (o->format == FA_FORMAT_TEXT || o->verbosity >= 1 || overflowed) : o->verbosity >= 1 || overflowed)
        emit(s, FA_KIND_FORK, 0, o);
}

void fa_report_exec(struct fa_snapshot *s, const struct fa_options *o)
{
    apply_suppressions(s, FA_KIND_EXEC_FDS);
    if (s->nfds > 0 || s->fds_dropped > 0 || s->fds_unchecked > 0) emit(s, FA_KIND_EXEC_FDS, 0, o);
}

/* ---------------------------------------------------------------- state (dump_signal) */

static const char *state_stack_missing(const struct fa_snap_thread *t, int receiver)
{
    if (receiver && t->stack_state == FA_STACK_BUSY && fa_proc.no_unwind)
        return "not unwound: a forked child of a multithreaded process (libunwind is not safe there)";
    if (receiver && t->stack_state == FA_STACK_BUSY)
        return "not safe to unwind here (inside forkaudit, on an alternate signal stack, or in a forked child "
               "of a multithreaded process)";
    if (t->stack_state == FA_STACK_NONE) return "not collected: stack_signal is off";
    return stack_missing(t->stack_state);
}

/* A lock of a state dump is held now (by a thread of this process) and/or was inherited
 * held at the fork that made this process. */
static int state_lock_now(const struct fa_snap_lock *l) { return !l->holder_gone; }
static int state_lock_inherited(const struct fa_snap_lock *l)
{
    return l->holder_gone || (l->held.flags & FA_HELD_INHERITED);
}

static const char *state_thread_name(const struct fa_snapshot *s, pid_t tid)
{
    if (tid == s->tid) return s->receiver.name;
    return thread_name(s, tid);
}

static void json_state_thread(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_thread *t,
                              int receiver)
{
    fa_puts(b, "{\"tid\":");
    fa_put_dec(b, t->tid);
    fa_puts(b, ",\"name\":");
    fa_put_json_str(b, t->name);
    fa_puts(b, receiver ? ",\"receiving\":true" : ",\"receiving\":false");
    json_thread_origin(b, t);
    if (t->stack_state == FA_STACK_OK) {
        fa_puts(b, ",\"stack\":");
        fa_render_frames_json(b, t->stack, t->nstack);
    } else {
        fa_puts(b, ",\"stack_missing\":");
        fa_put_json_str(b, state_stack_missing(t, receiver));
    }
    (void)s;
    fa_putc(b, '}');
}

static void json_state_locks(struct fa_buf *b, const struct fa_snapshot *s, int inherited)
{
    int first = 1, left_out = 0;
    fa_puts(b, inherited ? ",\"locks_inherited\":[" : ",\"locks_held\":[");
    for (int i = 0; i < s->nlocks; i++) {
        const struct fa_snap_lock *l = &s->locks[i];
        if (inherited ? !state_lock_inherited(l) : !state_lock_now(l)) continue;
        if (left_out) {
            left_out++;
            continue;
        }
        size_t mark = b->len;
        if (!first) fa_putc(b, ',');
        first = 0;
        if (inherited) {
            /* held at the fork by a thread of the parent: another one (gone), or the forking
             * thread whose copy is this process's thread */
            pid_t holder = l->holder_gone ? l->holder : fa_proc.born_tid;
            lock_object_json(b, &l->held, holder, NULL, "holder_is_forking_thread", !l->holder_gone, l->holder_gone);
            if (!l->holder_gone) { /* reopen: who holds it now */
                b->len--;
                fa_puts(b, ",\"now_held_by_tid\":");
                fa_put_dec(b, l->holder);
                fa_putc(b, '}');
            }
        } else {
            lock_object_json(b, &l->held, l->holder, state_thread_name(s, l->holder), "holder_is_receiving_thread",
                             l->holder == s->tid, 0);
            if (l->held.flags & FA_HELD_INHERITED) {
                b->len--;
                fa_puts(b, ",\"inherited\":true}");
            }
        }
        if (list_entry_overflows(b, mark)) left_out = 1;
    }
    fa_putc(b, ']');
    if (left_out) json_key_int(b, inherited ? "locks_inherited_truncated" : "locks_held_truncated", left_out);
}

static void json_state(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_options *o)
{
    fa_puts(b, "{\"kind\":\"state\",\"severity\":\"note\"");
    json_key_int(b, "pid", s->pid);
    json_key_int(b, "ppid", s->ppid);
    json_key_int(b, "tid", s->tid);
    if (fa_proc.forked_child) { /* as child records: the fork that made this process */
        fa_puts(b, ",\"fork\":{\"seq\":");
        fa_put_udec(b, fa_proc.born_seq);
        json_key_int(b, "child_pid", s->pid);
        fa_puts(b, ",\"via\":\"");
        fa_puts(b, fa_proc.born_via ? fa_proc.born_via : "fork");
        fa_puts(b, "\"}");
    }
    fa_puts(b, ",\"stack\":");
    fa_render_frames_json(b, s->stack.pc, s->stack.n);
    json_key_int(b, "signal", o->dump_signal);
    fa_puts(b, ",\"lineage\":{\"pid\":");
    fa_put_dec(b, s->pid);
    json_key_int(b, "ppid", s->ppid);
    fa_puts(b, ",\"forks\":");
    fa_put_udec(b, s->seq);
    fa_puts(b, fa_proc.forked_child ? ",\"forked_child\":true" : ",\"forked_child\":false");
    if (fa_proc.forked_child) {
        if (fa_proc.born_parent > 0) json_key_int(b, "parent_pid", fa_proc.born_parent);
        fa_puts(b, ",\"parent_fork_seq\":");
        fa_put_udec(b, fa_proc.born_seq);
        if (fa_proc.born_tid > 0) json_key_int(b, "parent_tid", fa_proc.born_tid);
        fa_puts(b, ",\"via\":\"");
        fa_puts(b, fa_proc.born_via ? fa_proc.born_via : "fork");
        fa_putc(b, '"');
    }
    fa_putc(b, '}');
    json_state_locks(b, s, 0);
    json_state_locks(b, s, 1);
    if (s->locks_dropped) json_key_int(b, "locks_dropped", (long long)s->locks_dropped);
    if (s->locks_overflow) json_key_int(b, "locks_overflow", (long long)s->locks_overflow);
    fa_puts(b, ",\"threads\":[");
    json_state_thread(b, s, &s->receiver, 1);
    int shown = 0;
    for (int i = 0; i < s->nthreads; i++, shown++) {
        size_t mark = b->len;
        fa_putc(b, ',');
        json_state_thread(b, s, &s->threads[i], 0);
        if (list_entry_overflows(b, mark)) break;
    }
    fa_putc(b, ']');
    if (shown < s->nthreads) json_key_int(b, "threads_truncated", s->nthreads - shown);
    if (s->threads_dropped) json_key_int(b, "threads_dropped", (long long)s->threads_dropped);
    if (s->threads_untracked) json_key_int(b, "threads_untracked", (long long)s->threads_untracked);
    fa_puts(b, "}\n");
}

static void text_state_thread(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_thread *t,
                              int receiver)
{
    text_prefix(b, s);
    fa_puts(b, "    thread ");
    fa_put_dec(b, t->tid);
    fa_puts(b, " \"");
    fa_puts(b, t->name);
    fa_putc(b, '"');
    if (receiver) fa_puts(b, " (received the signal)");
    if (!text_thread_origin(b, s, t, "      ")) fa_putc(b, '\n');
    if (t->stack_state == FA_STACK_OK) {
        text_line(b, s, "      now at:\n");
        text_frames(b, s, t->stack, t->nstack, "        ");
    } else {
        text_prefix(b, s);
        fa_puts(b, "      (stack ");
        fa_puts(b, state_stack_missing(t, receiver));
        fa_puts(b, ")\n");
    }
}

static void text_state_lock(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_lock *l,
                            int inherited)
{
    text_prefix(b, s);
    fa_puts(b, "    ");
    fa_puts(b, fa_lock_type_name(l->held.type));
    fa_putc(b, ' ');
    fa_put_hex(b, (uintptr_t)l->held.addr);
    if (l->held.type == FA_LOCK_MUTEX || l->held.type == FA_LOCK_MTX) {
        fa_puts(b, " (");
        fa_puts(b, fa_mutex_kind_name(l->held.kind));
        if (l->held.kind & FA_MUTEX_KIND_ROBUST) fa_puts(b, ", robust");
        fa_putc(b, ')');
    }
    if (l->held.type == FA_LOCK_RWLOCK) fa_puts(b, l->held.flags & FA_HELD_READ ? " (read)" : " (write)");
    if (inherited && l->holder_gone) {
        fa_puts(b, " held at the fork by thread ");
        fa_put_dec(b, l->holder);
        fa_puts(b, " of an ancestor process, which this process does not have: nobody will unlock it");
    } else if (inherited) {
        fa_puts(b, " held at the fork by the forking thread ");
        fa_put_dec(b, fa_proc.born_tid);
        fa_puts(b, ", still held by its copy, thread ");
        fa_put_dec(b, l->holder);
    } else {
        const char *hn = state_thread_name(s, l->holder);
        fa_puts(b, " held by thread ");
        fa_put_dec(b, l->holder);
        if (hn && hn[0]) {
            fa_puts(b, " \"");
            fa_puts(b, hn);
            fa_putc(b, '"');
        }
        if (l->holder == s->tid) fa_puts(b, " (the receiving thread)");
        if (l->held.flags & FA_HELD_INHERITED) fa_puts(b, ", inherited held at the fork");
    }
    if (l->held.depth > 1) {
        fa_puts(b, " (depth ");
        fa_put_udec(b, l->held.depth);
        fa_putc(b, ')');
    }
    fa_puts(b, "; acquired at:\n");
    uintptr_t one;
    text_frames(b, s, fa_held_frames(l->held.frames, l->held.nframes, &one), l->held.nframes, "      ");
}

static void text_state(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_options *o)
{
    text_prefix(b, s);
    fa_puts(b, "forkaudit: NOTE: state: process ");
    fa_put_dec(b, s->pid);
    fa_puts(b, " on signal ");
    fa_put_dec(b, o->dump_signal);
    fa_puts(b, " (dump_signal), received by thread ");
    fa_put_dec(b, s->tid);
    fa_puts(b, "\n");
    text_prefix(b, s);
    fa_puts(b, "  lineage: parent ");
    fa_put_dec(b, s->ppid);
    if (fa_proc.forked_child) {
        fa_puts(b, "; forked by thread ");
        fa_put_dec(b, fa_proc.born_tid);
        if (fa_proc.born_parent > 0) {
            fa_puts(b, " of process ");
            fa_put_dec(b, fa_proc.born_parent);
        }
        fa_puts(b, " at its fork #");
        fa_put_udec(b, fa_proc.born_seq);
        fa_puts(b, " (via ");
        fa_puts(b, fa_proc.born_via ? fa_proc.born_via : "fork");
        fa_puts(b, ")");
    } else {
        fa_puts(b, "; not a child made by fork under the auditor");
    }
    fa_puts(b, "; forks made so far: ");
    fa_put_udec(b, s->seq);
    fa_putc(b, '\n');
    for (int inherited = 0; inherited < 2; inherited++) {
        int n = 0;
        for (int i = 0; i < s->nlocks; i++)
            n += inherited ? state_lock_inherited(&s->locks[i]) : state_lock_now(&s->locks[i]);
        text_prefix(b, s);
        fa_puts(b, inherited ? "  locks inherited held at the fork: " : "  locks held now: ");
        fa_put_dec(b, n);
        fa_puts(b, n ? "\n" : " (none)\n");
        int left_out = 0;
        for (int i = 0; i < s->nlocks; i++) {
            if (!(inherited ? state_lock_inherited(&s->locks[i]) : state_lock_now(&s->locks[i]))) continue;
            if (left_out) {
                left_out++;
                continue;
            }
            size_t mark = b->len;
            text_state_lock(b, s, &s->locks[i], inherited);
            if (list_entry_overflows(b, mark)) left_out = 1;
        }
        text_truncated_note(b, s, "    ", left_out);
    }
    if (s->locks_dropped || s->locks_overflow) {
        text_prefix(b, s);
        fa_puts(b, "  ... and ");
        fa_put_udec(b, s->locks_dropped + s->locks_overflow);
        fa_puts(b, " more locks not listed (max_locks, or more than 64 held by one thread)\n");
    }
    text_prefix(b, s);
    fa_puts(b, "  threads: ");
    fa_put_dec(b, s->nthreads + 1 + (long long)s->threads_dropped);
    fa_putc(b, '\n');
    text_state_thread(b, s, &s->receiver, 1);
    int shown = 0;
    for (int i = 0; i < s->nthreads; i++, shown++) {
        size_t mark = b->len;
        text_state_thread(b, s, &s->threads[i], 0);
        if (list_entry_overflows(b, mark)) break;
    }
    text_truncated_note(b, s, "    ", s->nthreads - shown);
    if (s->threads_dropped) {
        text_prefix(b, s);
        fa_puts(b, "    ... and ");
        fa_put_udec(b, s->threads_dropped);
        fa_puts(b, " more (max_threads)\n");
    }
    text_line(b, s, "\n");
}

static void render_state(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_options *o)
{
    if (o->format == FA_FORMAT_JSON) json_state(b, s, o);
    else text_state(b, s, o);
}

static void render_state_record(struct fa_buf *b, void *ctx)
{
    const struct emit_ctx *e = ctx;
    render_state(b, e->s, e->o);
}

void fa_report_state(struct fa_snapshot *s, const struct fa_options *o)
{
    struct emit_ctx e = {s, FA_KIND_FORK, 0, o};
    write_record(s, render_state_record, &e);
}

void fa_report_unaudited(unsigned long seq, const char *via, size_t bytes, const struct fa_options *o)
{
    char line[512];
    struct fa_buf b;
    pid_t pid = fa_getpid();
    fa_buf_fixed(&b, line, sizeof line);
    if (o->format == FA_FORMAT_JSON) {
        fa_puts(&b, "{\"kind\":\"fork\",\"severity\":\"note\"");
        json_key_int(&b, "pid", pid);
        json_key_int(&b, "ppid", syscall(SYS_getppid));
        json_key_int(&b, "tid", fa_gettid());
        fa_puts(&b, ",\"fork\":{\"seq\":");
        fa_put_udec(&b, seq);
        fa_puts(&b, ",\"via\":\"");
        fa_puts(&b, via);
        fa_puts(&b, "\"},\"stack\":[]");
        json_key_int(&b, "snapshot_bytes", (long long)bytes);
        fa_puts(&b, ",\"unaudited\":\"no memory for the snapshot (max_threads, max_locks, max_fds size it); "
                    "said once per process\"}\n");
    } else {
        fa_render_prefix(&b, pid);
        fa_puts(&b, "forkaudit: NOTE: fork #");
        fa_put_udec(&b, seq);
        fa_puts(&b, " (via ");
        fa_puts(&b, via);
        fa_puts(&b, ") is not audited: no memory for its snapshot (");
        fa_put_udec(&b, bytes);
        fa_puts(&b, " bytes; max_threads, max_locks and max_fds size it); said once per process\n");
    }
    fa_report_write(&b);
}

void fa_report_state_unavailable(const char *why, const struct fa_options *o)
{
    char line[512];
    struct fa_buf b;
    pid_t pid = fa_getpid();
    fa_buf_fixed(&b, line, sizeof line);
    if (o->format == FA_FORMAT_JSON) {
        fa_puts(&b, "{\"kind\":\"state\",\"severity\":\"note\"");
        json_key_int(&b, "pid", pid);
        json_key_int(&b, "ppid", syscall(SYS_getppid));
        json_key_int(&b, "tid", fa_gettid());
        fa_puts(&b, ",\"stack\":[]");
        json_key_int(&b, "signal", o->dump_signal);
        fa_puts(&b, ",\"unavailable\":");
        fa_put_json_str(&b, why);
        fa_puts(&b, "}\n");
    } else {
        fa_render_prefix(&b, pid);
        fa_puts(&b, "forkaudit: NOTE: state: no state dump on signal ");
        fa_put_dec(&b, o->dump_signal);
        fa_puts(&b, ": ");
        fa_puts(&b, why);
        fa_puts(&b, "\n");
    }
    fa_report_write(&b);
}
