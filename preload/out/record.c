/* record.c: the parts every record shares (head, frames, locks, threads, suggestion) and
 * the one-write(2) rule with its 4 MiB cap. Knows no kind. */
#include "out/record.h"

#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/backtrace.h"
#include "base/options.h"
#include "base/process.h"
#include "out/log.h"
#include "out/suppress.h"
#include "out/symbolize.h"
#include "out/thread_names.h"
#include "track/threads.h"

/* ---------------------------------------------------------------- writing */

/* Room kept after a list for what follows it (counts, text's fork stack, the closing):
 * first RECORD_TAIL; a record whose tail needs more is rendered again with more room. */
#define RECORD_TAIL ((size_t)16 << 10)
static FA_TLS size_t tail_room = RECORD_TAIL;

/* Set by fa_record_write()'s last resort, when no buffer larger than the scratch could be
 * mapped: lists are then cut to fit the scratch. Per thread: two threads may report. */
static FA_TLS int cut_to_buffer;
/* The cap of the record being rendered by fa_record_render_capped (0: FA_RECORD_MAX). */
static FA_TLS size_t list_cap;

/* The first mapped buffer of a record that did not fit its scratch (or had none). */
#define RECORD_FIRST_MAP ((size_t)64 << 10)

int fa_record_list_entry_overflows(struct fa_buf *b, size_t mark)
{
    size_t limit = list_cap ? list_cap : FA_RECORD_MAX;
    if (cut_to_buffer && b->cap < limit) limit = b->cap;
    if (b->truncated && !cut_to_buffer) return 1; /* a fixed buffer: rendered again larger */
    if (!b->truncated && b->len + tail_room <= limit) return 0;
    b->len = mark;
    b->truncated = 0;
    return 1;
}

int fa_record_render_capped(struct fa_buf *b, size_t cap, fa_record_render_fn *render, void *ctx)
{
    b->limit = cap; /* a hard cap: the tail too must fit below it */
    list_cap = cap;
    b->len = 0;
    b->truncated = 0;
    render(b, ctx);
    /* b->limit only stops growth: a buffer already larger than the cap holds more */
    if (b->len > cap) b->truncated = 1;
    while (b->truncated && tail_room < cap / 2) { /* the tail outgrew its room */
        tail_room *= 4;
        b->len = 0;
        b->truncated = 0;
        render(b, ctx);
        if (b->len > cap) b->truncated = 1;
    }
    tail_room = RECORD_TAIL;
    list_cap = 0;
    return b->truncated ? -1 : 0;
}

/* Renders into a mapped buffer that may grow up to FA_RECORD_MAX; 1 when it was written. */
static int write_mapped(size_t initial, fa_record_render_fn *render, void *ctx)
{
    struct fa_buf b;
    if (fa_buf_mapped(&b, initial) != 0) return 0;
    int fits = fa_record_render_capped(&b, FA_RECORD_MAX, render, ctx) == 0;
    if (fits && b.len) fa_log_write(b.p, b.len);
    fa_buf_release(&b);
    return fits;
}

void fa_record_write(char *scratch, size_t scratch_len, fa_record_render_fn *render, void *ctx)
{
    struct fa_buf b;
    if (scratch && scratch_len) {
        fa_buf_fixed(&b, scratch, scratch_len);
        render(&b, ctx);
        if (!b.truncated) {
            if (b.len) fa_log_write(b.p, b.len);
            return;
        }
    }
    size_t initial = scratch_len * 2 > RECORD_FIRST_MAP ? scratch_len * 2 : RECORD_FIRST_MAP;
    if (write_mapped(initial, render, ctx)) return;
    if (!scratch || !scratch_len) return; /* no memory, nowhere to cut the lists into */
    cut_to_buffer = 1;
    fa_buf_fixed(&b, scratch, scratch_len);
    render(&b, ctx);
    cut_to_buffer = 0;
    if (!b.truncated && b.len) fa_log_write(b.p, b.len);
}

/* ---------------------------------------------------------------- the head */

const char *fa_level_name(enum fa_level level)
{
    switch (level) {
    case FA_LEVEL_NOTE: return "note";
    case FA_LEVEL_WARNING: return "warning";
    case FA_LEVEL_ERROR: return "error";
    }
    return "note";
}

static const char *level_title(enum fa_level level)
{
    switch (level) {
    case FA_LEVEL_NOTE: return "NOTE: ";
    case FA_LEVEL_WARNING: return "WARNING: ";
    case FA_LEVEL_ERROR: return "ERROR: ";
    }
    return "NOTE: ";
}

void fa_record_json_int(struct fa_buf *b, const char *key, long long v)
{
    fa_puts(b, ",\"");
    fa_puts(b, key);
    fa_puts(b, "\":");
    fa_put_dec(b, v);
}

void fa_record_head_now(struct fa_record_head *h, const char *kind, enum fa_level level)
{
    memset(h, 0, sizeof *h);
    h->kind = kind;
    h->level = level;
    h->pid = fa_getpid();
    h->ppid = (pid_t)syscall(SYS_getppid);
    h->tid = fa_self ? fa_self->tid : fa_gettid();
}

void fa_record_head_fork(struct fa_record_head *h, unsigned long seq, pid_t child, const char *via)
{
    h->has_fork = 1;
    h->fork_seq = seq;
    h->fork_child = child;
    h->fork_via = via ? via : "fork";
}

void fa_record_head_born_fork(struct fa_record_head *h) { fa_record_head_fork(h, fa_proc.born_seq, h->pid, fa_proc.born_via); }

void fa_record_json_head(struct fa_buf *b, const struct fa_record_head *h)
{
    fa_puts(b, "{\"kind\":\"");
    fa_puts(b, h->kind);
    fa_puts(b, "\",\"severity\":\"");
    fa_puts(b, fa_level_name(h->level));
    fa_putc(b, '"');
    fa_record_json_int(b, "pid", h->pid);
    fa_record_json_int(b, "ppid", h->ppid);
    fa_record_json_int(b, "tid", h->tid);
    if (h->has_fork) {
        fa_puts(b, ",\"fork\":{\"seq\":");
        fa_put_udec(b, h->fork_seq);
        if (h->fork_child > 0) fa_record_json_int(b, "child_pid", h->fork_child);
        fa_puts(b, ",\"via\":\"");
        fa_puts(b, h->fork_via);
        fa_puts(b, "\"}");
    }
}

void fa_record_prefix(struct fa_buf *b, pid_t pid)
{
    fa_puts(b, "==");
    fa_put_dec(b, pid);
    fa_puts(b, "== ");
}

void fa_record_text_title(struct fa_buf *b, pid_t pid, enum fa_level level, const char *kind)
{
    fa_record_prefix(b, pid);
    fa_puts(b, "forkaudit: ");
    fa_puts(b, level_title(level));
    fa_puts(b, kind);
    fa_puts(b, ": ");
}

void fa_record_text_line(struct fa_buf *b, pid_t pid, const char *text)
{
    fa_record_prefix(b, pid);
    fa_puts(b, text);
}

/* ---------------------------------------------------------------- stacks */

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

const char *fa_record_stack_truncation(const uintptr_t *pc, int n)
{
    if (n <= 0) return NULL;
    uintptr_t last = pc[n - 1];
    if (last & FA_PC_MORE) return "stack_depth";
    if (last & FA_PC_ASTRAY) return "unwinder";
    struct fa_frame_info fi;
    fa_symbolize(last, 1, &fi);
    return is_first_frame(fa_pc(last), &fi) ? NULL : "unwinder";
}

const uintptr_t *fa_record_held_frames(const uintptr_t *frames, int n, uintptr_t *one)
{
    /* lock_stack_depth=1 keeps the call site only, and the fast paths store it unmarked. */
    if (n != 1 || fa_opts.lock_stack_depth > 1) return frames;
    *one = frames[0] | FA_PC_MORE;
    return one;
}

void fa_record_held_frames_json(struct fa_buf *b, const uintptr_t *frames, int n)
{
    uintptr_t one;
    fa_record_frames_json(b, fa_record_held_frames(frames, n, &one), n);
}

void fa_record_frames_json(struct fa_buf *b, const uintptr_t *pc, int n)
{
    const char *truncated = fa_record_stack_truncation(pc, n);
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
            if (fi.mangled) { /* function is its demangled form */
                fa_puts(b, ",\"mangled\":");
                fa_put_json_strn(b, fi.mangled, fi.mangled_len);
            }
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

/* A frame's function in text. A long C++ name (over 120 bytes: templates) has each
 * outermost template argument list shown as "<...>" (std::thread::_State_impl<...>::_M_run());
 * JSON has it whole. A name whose '<' and '>' do not pair (operator<<) is left whole. */
static void put_function_text(struct fa_buf *b, const char *s, size_t n)
{
    int depth = 0, balanced = 1;
    for (size_t i = 0; i < n && balanced; i++) {
        if (s[i] == '<') depth++;
        else if (s[i] == '>' && depth > 0) depth--;
        else if (s[i] == '>' && (i == 0 || s[i - 1] != '-')) balanced = 0;
    }
    if (n <= 120 || !balanced || depth != 0 || !memchr(s, '<', n)) {
        fa_putsn(b, s, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '<' && depth++ == 0) fa_puts(b, "<...>");
        else if (s[i] == '>' && depth > 0) depth--;
        else if (!depth) fa_putc(b, s[i]);
    }
}

void fa_record_frames_text(struct fa_buf *b, pid_t pid, const uintptr_t *pc, int n, const char *indent)
{
    if (n == 0) {
        fa_record_prefix(b, pid);
        fa_puts(b, indent);
        fa_puts(b, "(no stack)\n");
    }
    for (int i = 0; i < n; i++) {
        struct fa_frame_info fi;
        fa_symbolize(pc[i], 1, &fi);
        fa_record_prefix(b, pid);
        fa_puts(b, indent);
        fa_putc(b, '#');
        fa_put_dec(b, i);
        fa_putc(b, ' ');
        fa_put_hex(b, fa_pc(pc[i]));
        if (fi.function) {
            fa_puts(b, " in ");
            put_function_text(b, fi.function, fi.function_len);
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
    const char *truncated = fa_record_stack_truncation(pc, n);
    if (truncated && (n > 1 || strcmp(truncated, "unwinder") == 0)) {
        fa_record_prefix(b, pid);
        fa_puts(b, indent);
        fa_puts(b, strcmp(truncated, "unwinder") == 0
                       ? "... (unwinding stopped: the caller of the frame above has no unwind information)\n"
                       : "... (deeper frames not recorded: stack_depth)\n");
    }
}

/* ---------------------------------------------------------------- locks */

/* How a lock's kind is described, in JSON and in text alike, is decided by one function:
 * fa_lock_describe_kind (track/locks.h), from the family's row in track/locks.def. */

void fa_record_lock_text(struct fa_buf *b, const struct fa_held *h)
{
    struct fa_lock_kind_desc k = fa_lock_describe_kind(h->type, h->kind);
    fa_puts(b, fa_lock_type_name(h->type));
    fa_putc(b, ' ');
    fa_put_hex(b, (uintptr_t)h->addr);
    if (!k.mutex_type) return;
    fa_puts(b, " (");
    fa_puts(b, k.mutex_type);
    if (k.robust) fa_puts(b, ", robust");
    if (k.priority_inheritance) fa_puts(b, ", priority-inheritance");
    fa_putc(b, ')');
}

void fa_record_lock_json_open(struct fa_buf *b, const struct fa_held *h, pid_t holder, const char *holder_name,
                              const char *self_key, int holder_is_self, int holder_gone)
{
    fa_puts(b, "{\"type\":\"");
    fa_puts(b, fa_lock_type_name(h->type));
    fa_puts(b, "\",\"addr\":\"");
    fa_put_hex(b, (uintptr_t)h->addr);
    fa_putc(b, '"');
    struct fa_lock_kind_desc k = fa_lock_describe_kind(h->type, h->kind);
    if (k.mutex_type) {
        fa_puts(b, ",\"mutex_type\":\"");
        fa_puts(b, k.mutex_type);
        fa_puts(b, k.robust ? "\",\"robust\":true" : "\",\"robust\":false");
        fa_puts(b, k.priority_inheritance ? ",\"priority_inheritance\":true" : ",\"priority_inheritance\":false");
    }
    if (h->type == FA_LOCK_RWLOCK) fa_puts(b, h->flags & FA_HELD_READ ? ",\"mode\":\"read\"" : ",\"mode\":\"write\"");
    fa_record_json_int(b, "depth", h->depth);
    fa_record_json_int(b, "holder_tid", holder);
    if (holder_name) {
        fa_puts(b, ",\"holder_name\":");
        fa_put_json_str(b, holder_name);
    }
    fa_puts(b, ",\"");
    fa_puts(b, self_key);
    fa_puts(b, holder_is_self ? "\":true" : "\":false");
    if (holder_gone) fa_puts(b, ",\"holder_gone\":true");
    fa_puts(b, ",\"acquired_at\":");
    fa_record_held_frames_json(b, h->frames, h->nframes);
}

/* ---------------------------------------------------------------- threads */

static const char stack_note_text[] =
    "the kernel's pc only: not stopped, a stop would end this call early (EINTR in a timed wait, a short write)";

const char *fa_record_stack_missing(int stack_state)
{
    switch (stack_state) {
    case FA_STACK_NO_ANSWER: return "no answer within 100 ms (thread stopped or too slow)";
    case FA_STACK_BUSY: return "not safe to unwind (inside forkaudit, on an alternate signal stack, or not started by pthread_create)";
    case FA_STACK_BLOCKED: return "the thread blocks stack_signal";
    case FA_STACK_TOO_MANY: return "not asked: more than 1024 other threads at the fork";
    case FA_STACK_TIGHT: return "too near the end of its stack to unwind (less than 12 KiB left)";
    case FA_STACK_UNAVAILABLE: return "stack_signal is the program's, or another fork was collecting";
    case FA_STACK_PTRACE_REFUSED: return "not stopped: ptrace refused (Yama ptrace_scope, an undumpable process without CAP_SYS_PTRACE, a container or seccomp); stack_signal asks by a signal instead";
    case FA_STACK_TRACED: return "not stopped: the thread is traced already (a debugger or strace)";
    case FA_STACK_STOPPED: return "the thread is stopped (SIGSTOP or a debugger)";
    case FA_STACK_NO_HELPER: return "not stopped: no helper process (clone failed) or it did not answer";
    case FA_STACK_UNSAFE: return "stopped but not unwound: another thread was inside libunwind, or a stopped thread held the loader's lock";
    case FA_STACK_GONE: return "the thread ended before it could be stopped";
    default: return NULL; /* FA_STACK_NONE, FA_STACK_OK: nothing to say */
    }
}

void fa_record_thread_origin_json(struct fa_buf *b, const struct fa_snap_thread *t)
{
    if (!t->start_routine) return;
    char name[256];
    fa_puts(b, ",\"start_routine\":");
    if (fa_start_routine_name(t->start_routine, t->start_arg, name, sizeof name)) fa_put_json_str(b, name);
    else {
        fa_putc(b, '"');
        fa_put_hex(b, (uintptr_t)t->start_routine);
        fa_putc(b, '"');
    }
    fa_puts(b, ",\"created_at\":");
    fa_record_frames_json(b, t->created_at, t->ncreated);
}

void fa_record_thread_stack_json(struct fa_buf *b, const struct fa_snap_thread *t, const char *key)
{
    const char *missing = fa_record_stack_missing(t->stack_state);
    if (t->stack_state == FA_STACK_OK) {
        fa_puts(b, ",\"");
        fa_puts(b, key);
        fa_puts(b, "\":");
        fa_record_frames_json(b, t->stack, t->nstack);
        if (t->stack_note == FA_NOTE_KERNEL_PC) {
            fa_puts(b, ",\"");
            fa_puts(b, key);
            fa_puts(b, "_note\":\"");
            fa_puts(b, stack_note_text);
            fa_puts(b, "\",\"");
            fa_puts(b, key);
            fa_puts(b, "_syscall\":");
            fa_put_dec(b, t->stack_syscall);
        }
    } else if (missing) {
        fa_puts(b, ",\"");
        fa_puts(b, key);
        fa_puts(b, "_missing\":\"");
        fa_puts(b, missing);
        fa_putc(b, '"');
    }
}

int fa_record_thread_origin_text(struct fa_buf *b, pid_t pid, const struct fa_snap_thread *t, const char *indent)
{
    if (!t->start_routine) return 0;
    char name[256];
    fa_puts(b, ", start routine ");
    if (fa_start_routine_name(t->start_routine, t->start_arg, name, sizeof name)) fa_puts(b, name);
    else fa_put_hex(b, (uintptr_t)t->start_routine);
    fa_puts(b, ", created at:\n");
    fa_record_frames_text(b, pid, t->created_at, t->ncreated, indent);
    return 1;
}

void fa_record_thread_stack_text(struct fa_buf *b, pid_t pid, const struct fa_snap_thread *t, const char *title)
{
    const char *missing = fa_record_stack_missing(t->stack_state);
    if (t->stack_state == FA_STACK_OK) {
        fa_record_text_line(b, pid, title);
        fa_record_frames_text(b, pid, t->stack, t->nstack, "      ");
        if (t->stack_note == FA_NOTE_KERNEL_PC) {
            fa_record_prefix(b, pid);
            fa_puts(b, "    (");
            fa_puts(b, stack_note_text);
            fa_puts(b, ", system call ");
            fa_put_dec(b, t->stack_syscall);
            fa_puts(b, ")\n");
        }
    } else if (missing) {
        fa_record_prefix(b, pid);
        fa_puts(b, "    (stack at fork unknown: ");
        fa_puts(b, missing);
        fa_puts(b, ")\n");
    }
}

/* ---------------------------------------------------------------- suppression */

void fa_record_suggestion_json(struct fa_buf *b, const char *kind, const uintptr_t *pc, int n, const char *text)
{
    char rule[300];
    struct fa_buf rb;
    fa_buf_fixed(&rb, rule, sizeof rule);
    int specific = fa_suppress_suggest(&rb, kind, pc, n, text);
    fa_buf_terminate(&rb);
    if (!specific) return; /* no rule names this finding alone */
    fa_puts(b, ",\"suppression\":");
    fa_put_json_str(b, rule);
}

void fa_record_suggestion_text(struct fa_buf *b, pid_t pid, const char *indent, const char *kind, const uintptr_t *pc,
                               int n, const char *text)
{
    char rule[300];
    struct fa_buf rb;
    fa_buf_fixed(&rb, rule, sizeof rule);
    int specific = fa_suppress_suggest(&rb, kind, pc, n, text);
    fa_buf_terminate(&rb);
    if (!specific) return;
    fa_record_prefix(b, pid);
    fa_puts(b, indent);
    fa_puts(b, "suppress with: ");
    fa_puts(b, rule);
    fa_putc(b, '\n');
}
