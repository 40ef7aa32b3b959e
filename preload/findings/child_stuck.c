/* child_stuck.c: see child_stuck.h. The record can be large (up to 64 threads' stacks and
 * every lock the parent's vanished threads held): its lists stop below the size limit
 * and say how much they left out. */
#include "findings/child_stuck.h"

#include <string.h>

#include "base/process.h"
#include "base/pyframes.h"
#include "out/record.h"
#include "out/suppress.h"

#define KIND fa_kind_name(FA_KIND_CHILD_STUCK)

/* The key of the rule that silences it: the innermost frame outside the C library (its
 * function, or its library when the function has no symbol); the whole stack else. */
static const uintptr_t *rule_key(const struct fa_child_stuck *e, int *n, const char **text)
{
    *text = NULL;
    for (int i = 0; i < e->n; i++) {
        struct fa_frame_info f;
        fa_symbolize(e->pc[i], i > 0, &f);
        if (fa_child_stuck_is_system(&f)) continue;
        if (f.function) {
            *n = e->n - i;
            return e->pc + i;
        }
        const char *base = strrchr(f.module, '/');
        *text = base ? base + 1 : f.module;
        *n = 0;
        return NULL;
    }
    *n = e->n;
    return e->pc;
}

/* The blocked thread's Python frames, cut at stack_depth (past it to the program's own). */
static int py_frames(const struct fa_child_stuck *e, struct fa_py_frame *f, int max)
{
    int n = e->py_len ? fa_pyframes_parse(e->py_text, e->py_len, 0, NULL, f, FA_MAX_FRAMES) : 0;
    return fa_pyframes_depth(f, n, max);
}

static const char *action(const struct fa_options *o)
{
    return o->on_child_stuck == FA_ACTION_ABORT ? "abort" : "report";
}

/* ,"parent_threads":[...] and the counts of those left out. */
static void json_parent_threads(struct fa_buf *b, const struct fa_child_stuck *e)
{
    fa_puts(b, ",\"parent_threads\":[");
    int listed = 0;
    for (; listed < e->nparent_threads; listed++) {
        const struct fa_remembered_thread *t = &e->parent_threads[listed];
        size_t mark = b->len;
        char start[128];
        if (listed) fa_putc(b, ',');
        fa_puts(b, "{\"tid\":");
        fa_put_dec(b, t->tid);
        fa_puts(b, ",\"name\":");
        fa_put_json_strn(b, t->name, strnlen(t->name, sizeof t->name));
        if (fa_function_name(t->start_routine, start, sizeof start)) {
            fa_puts(b, ",\"start_routine\":");
            fa_put_json_str(b, start);
        }
        if (t->stack_state == FA_STACK_OK) {
            fa_puts(b, ",\"stack_at_fork\":");
            fa_record_frames_json(b, t->stack, t->nstack);
        }
        fa_putc(b, '}');
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_putc(b, ']');
    if (e->parent_threads_omitted) {
        fa_puts(b, ",\"parent_threads_omitted\":");
        fa_put_udec(b, e->parent_threads_omitted);
    }
    if (listed < e->nparent_threads) {
        fa_puts(b, ",\"parent_threads_truncated\":");
        fa_put_dec(b, e->nparent_threads - listed);
    }
}

/* ,"locks_held_at_fork":[...]: the tracked locks of the parent's vanished threads, at
 * most max_locks of them as at the fork (up to 1,024 threads x 64 locks are kept), and
 * the counts of those left out: past max_locks (dropped), past the size limit (truncated). */
static void json_locks(struct fa_buf *b, const struct fa_child_stuck *e, const struct fa_options *o)
{
    fa_puts(b, ",\"locks_held_at_fork\":[");
    int full = 0;
    unsigned long listed = 0, dropped = 0, truncated = 0;
    for (int i = 0; i < e->nthreads; i++) {
        const struct fa_thread *t = &e->threads[i];
        if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != FA_SLOT_GONE) continue;
        for (int k = 0; k < fa_held_count(&t->held) && k < FA_HELD_MAX; k++) {
            const struct fa_held *h = &t->held.e[k];
            if (!h->addr || (h->flags & FA_HELD_IN_COND_WAIT)) continue;
            if (listed + truncated >= (unsigned long)o->max_locks) {
                dropped++;
                continue;
            }
            if (full) {
                truncated++;
                continue;
            }
            size_t mark = b->len;
            if (listed) fa_putc(b, ',');
            fa_puts(b, "{\"type\":\"");
            fa_puts(b, fa_lock_type_name(h->type));
            fa_puts(b, "\",\"addr\":\"");
            fa_put_hex(b, (uintptr_t)h->addr);
            fa_puts(b, "\",\"holder_tid\":");
            fa_put_dec(b, t->tid);
            fa_puts(b, ",\"acquired_at\":");
            fa_record_held_frames_json(b, h->frames, h->nframes);
            fa_putc(b, '}');
            if (fa_record_list_entry_overflows(b, mark)) {
                full = 1;
                truncated++;
                continue;
            }
            listed++;
        }
    }
    fa_putc(b, ']');
    if (dropped) {
        fa_puts(b, ",\"locks_held_at_fork_dropped\":");
        fa_put_udec(b, dropped);
    }
    if (truncated) {
        fa_puts(b, ",\"locks_held_at_fork_truncated\":");
        fa_put_udec(b, truncated);
    }
}

static void render_json(struct fa_buf *b, const struct fa_child_stuck *e, const struct fa_child_suspect *sus,
                        const struct fa_options *o)
{
    fa_child_record_head_json(b, FA_KIND_CHILD_STUCK, &e->origin, e->pc, e->n);
    fa_puts(b, ",\"stuck_for_s\":");
    fa_put_dec(b, e->stuck_for_s);
    fa_puts(b, ",\"wait\":{\"syscall\":\"futex\",\"futex_addr\":\"");
    fa_put_hex(b, e->wait.uaddr);
    fa_puts(b, "\",\"op\":");
    fa_put_dec(b, e->wait.op);
    fa_putc(b, '}');
    struct fa_py_frame py[FA_MAX_FRAMES];
    fa_pystack_json(b, "python_stack", py, py_frames(e, py, o->stack_depth));
    json_parent_threads(b, e);
    json_locks(b, e, o);
    int n;
    const char *text;
    const uintptr_t *key = rule_key(e, &n, &text);
    fa_record_suggestion_json(b, KIND, key, n, text);
    if (sus->tid) {
        fa_puts(b, ",\"suspect_tid\":");
        fa_put_dec(b, sus->tid);
        fa_puts(b, ",\"suspect_evidence\":");
        fa_put_json_str(b, sus->evidence);
    }
    fa_puts(b, ",\"action\":\"");
    fa_puts(b, action(o));
    fa_puts(b, "\"}\n");
}

static void text_parent_threads(struct fa_buf *b, const struct fa_child_stuck *e)
{
    pid_t pid = e->origin.pid;
    int listed = 0;
    for (; listed < e->nparent_threads; listed++) {
        const struct fa_remembered_thread *t = &e->parent_threads[listed];
        size_t mark = b->len;
        char start[128];
        fa_record_prefix(b, pid);
        fa_puts(b, "  the parent's thread ");
        fa_put_dec(b, t->tid);
        fa_puts(b, " \"");
        fa_putsn(b, t->name, strnlen(t->name, sizeof t->name));
        fa_putc(b, '"');
        if (fa_function_name(t->start_routine, start, sizeof start)) {
            fa_puts(b, ", start routine ");
            fa_puts(b, start);
        }
        if (t->stack_state == FA_STACK_OK) {
            fa_puts(b, ", at the fork was at:\n");
            fa_record_frames_text(b, pid, t->stack, t->nstack, "    ");
        } else {
            fa_puts(b, " (its stack at the fork is unknown)\n");
        }
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    if (listed < e->nparent_threads) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  ... and ");
        fa_put_dec(b, e->nparent_threads - listed);
        fa_puts(b, " more not shown: the record reached its size limit\n");
    }
    if (e->parent_threads_omitted) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  ... and ");
        fa_put_udec(b, e->parent_threads_omitted);
        fa_puts(b, " more threads of the parent (a child remembers " FA_STR(FA_WATCHDOG_THREADS) " at most)\n");
    }
}

static void render_text(struct fa_buf *b, const struct fa_child_stuck *e, const struct fa_child_suspect *sus,
                        const struct fa_options *o)
{
    pid_t pid = e->origin.pid;
    fa_record_text_title(b, pid, fa_kind_level(FA_KIND_CHILD_STUCK), KIND);
    fa_puts(b, "this child (forked by thread ");
    fa_put_dec(b, e->origin.born_tid);
    fa_puts(b, " of process ");
    fa_put_dec(b, e->origin.ppid);
    fa_puts(b, ") is blocked in a futex wait ");
    fa_put_dec(b, e->stuck_for_s);
    fa_puts(b, " s after the fork, and it has no other thread that could end the wait\n");
    fa_record_prefix(b, pid);
    fa_puts(b, "  futex ");
    fa_put_hex(b, e->wait.uaddr);
    fa_puts(b, ", a lock no wrapper saw (or one taken by code that bypasses them); blocked at:\n");
    struct fa_py_frame py[FA_MAX_FRAMES];
    int npy = py_frames(e, py, o->stack_depth);
    fa_pystack_text(b, pid, "    in Python (most recent call first):\n", "      ", py, npy);
    if (npy > 0) fa_record_text_line(b, pid, "    in native code:\n");
    fa_record_frames_text(b, pid, e->pc, e->n, npy > 0 ? "      " : "    ");
    if (sus->tid) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  likely culprit: the parent's thread ");
        fa_put_dec(b, sus->tid);
        fa_puts(b, ": ");
        fa_puts(b, sus->evidence);
        fa_putc(b, '\n');
    }
    text_parent_threads(b, e);
    int n;
    const char *text;
    const uintptr_t *key = rule_key(e, &n, &text);
    fa_record_suggestion_text(b, pid, "  ", KIND, key, n, text);
    fa_record_prefix(b, pid);
    fa_puts(b, o->on_child_stuck == FA_ACTION_ABORT ? "  on_child_stuck=abort: ending the child now\n"
                                                    : "  on_child_stuck=report: the child keeps waiting\n");
}

void fa_child_stuck_render(struct fa_buf *b, const struct fa_child_stuck *e, const struct fa_child_suspect *sus,
                           const struct fa_options *o)
{
    if (o->format == FA_FORMAT_JSON) render_json(b, e, sus, o);
    else render_text(b, e, sus, o);
}

struct render_ctx {
    const struct fa_child_stuck *e;
    const struct fa_child_suspect *sus;
    const struct fa_options *o;
};

static void render_record(struct fa_buf *b, void *ctx)
{
    const struct render_ctx *c = ctx;
    fa_child_stuck_render(b, c->e, c->sus, c->o);
}

int fa_child_stuck_report(const struct fa_child_stuck *e, const struct fa_options *o)
{
    if (fa_suppress_frames(KIND, e->pc, e->n)) return 0;
    struct fa_child_suspect sus;
    fa_child_stuck_suspect(e, &sus);
    __atomic_add_fetch(&fa_proc.errors, 1, __ATOMIC_RELAXED);
    struct render_ctx c = {e, &sus, o};
    fa_record_write(NULL, 0, render_record, &c);
    return 1;
}
