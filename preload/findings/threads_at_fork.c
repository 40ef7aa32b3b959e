/* threads_at_fork.c: threads-at-fork, one record listing the other threads that were
 * running at the fork (the child has none of them). */
#include "findings/finding.h"

#include "out/thread_names.h"

#include <string.h>

#include "out/symbolize.h"

static int entries(const struct fa_snapshot *s) { return s->nthreads; }

/* A thread is named in a rule by its start routine's function name, else by where it was
 * created; its stack at the fork is a key stack too. */
static void keys(const struct fa_snapshot *s, int i, struct fa_finding_keys *k)
{
    const struct fa_snap_thread *t = &s->threads[i];
    const char *pyname = fa_finding_py_thread_name(s, t->self);
    if (pyname) { /* a Python thread: its threading name (its start routine is the interpreter's) */
        fa_finding_key_text(k, pyname);
    } else {
        fa_start_routine_name(t->start_routine, t->start_arg, k->text_buf, sizeof k->text_buf);
        k->text = k->text_buf[0] ? k->text_buf : NULL;
    }
    k->pc[0] = t->created_at;
    k->n[0] = t->ncreated;
    k->pc[1] = t->stack;
    k->n[1] = t->nstack;
    k->nstacks = 2;
}

static void keep(struct fa_snapshot *s, int to, int from) { s->threads[to] = s->threads[from]; }
static void set_entries(struct fa_snapshot *s, int n) { s->nthreads = n; }
static int records(const struct fa_snapshot *s) { return s->nthreads > 0; }

/* The rule suggested for a thread: its start routine, else its creation stack. */
static void suggestion_of(const struct fa_snapshot *s, const struct fa_snap_thread *t, char *name, size_t cap,
                          const uintptr_t **pc, int *n)
{
    const char *pyname = fa_finding_py_thread_name(s, t->self);
    if (pyname) {
        size_t len = strlen(pyname) < cap ? strlen(pyname) : cap - 1;
        memcpy(name, pyname, len);
        name[len] = 0;
    } else {
        fa_start_routine_name(t->start_routine, t->start_arg, name, cap);
    }
    *pc = name[0] ? NULL : t->created_at;
    *n = name[0] ? 0 : t->ncreated;
}

static void emit_json(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    fa_puts(b, ",\"threads\":[");
    int shown = 0;
    for (int i = 0; i < s->nthreads; i++, shown++) {
        const struct fa_snap_thread *t = &s->threads[i];
        size_t mark = b->len;
        if (i) fa_putc(b, ',');
        fa_puts(b, "{\"tid\":");
        fa_put_dec(b, t->tid);
        const char *pyname = fa_finding_py_thread_name(s, t->self);
        fa_puts(b, ",\"name\":");
        fa_put_json_str(b, pyname ? pyname : t->name);
        fa_record_thread_origin_json(b, t);
        fa_record_thread_stack_json(b, t, "stack_at_fork");
        struct fa_py_frame py[FA_MAX_FRAMES];
        fa_pystack_json(b, "python_stack_at_fork", py, fa_finding_py_stack(s, t->self, py, in->o->stack_depth));
        char name[128];
        const uintptr_t *pc;
        int n;
        suggestion_of(s, t, name, sizeof name, &pc, &n);
        fa_record_suggestion_json(b, fa_kind_name(in->kind), pc, n, name[0] ? name : NULL);
        fa_putc(b, '}');
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_putc(b, ']');
    if (shown < s->nthreads) fa_record_json_int(b, "threads_truncated", s->nthreads - shown);
    if (s->threads_dropped) fa_record_json_int(b, "threads_dropped", (long long)s->threads_dropped);
    if (s->threads_untracked) fa_record_json_int(b, "threads_untracked", (long long)s->threads_untracked);
}

static void emit_text(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    pid_t pid = s->pid;
    fa_put_dec(b, s->nthreads + (long long)s->threads_dropped);
    fa_puts(b, s->nthreads + s->threads_dropped == 1 ? " other thread was" : " other threads were");
    fa_puts(b, " running at ");
    fa_finding_fork_ref(b, s);
    fa_puts(b, "\n");
    fa_record_text_line(b, pid, "  the child has none of them: work they were doing and locks they held are gone\n");
    int shown = 0;
    for (int i = 0; i < s->nthreads; i++, shown++) {
        const struct fa_snap_thread *t = &s->threads[i];
        size_t mark = b->len;
        fa_record_prefix(b, pid);
        fa_puts(b, "  thread ");
        fa_put_dec(b, t->tid);
        fa_puts(b, " \"");
        const char *pyname = fa_finding_py_thread_name(s, t->self);
        fa_puts(b, pyname ? pyname : t->name);
        fa_putc(b, '"');
        struct fa_py_frame py[FA_MAX_FRAMES];
        int npy = fa_finding_py_stack(s, t->self, py, in->o->stack_depth);
        if (npy > 0) { /* a Python thread: its Python stack, not the interpreter's C frames */
            fa_puts(b, " (Python) was at (most recent call first):\n");
            fa_pystack_text(b, pid, NULL, "      ", py, npy);
        } else if (!fa_record_thread_origin_text(b, pid, t, "    "))
            fa_puts(b, " (creation site unknown: not made through the interposed pthread_create)\n");
        if (npy <= 0) fa_record_thread_stack_text(b, pid, t, "    at the fork it was at:\n");
        char name[128];
        const uintptr_t *pc;
        int n;
        suggestion_of(s, t, name, sizeof name, &pc, &n);
        fa_record_suggestion_text(b, pid, "    ", fa_kind_name(in->kind), pc, n, name[0] ? name : NULL);
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_finding_list_end(b, s, "  ", s->nthreads - shown, s->threads_dropped, "max_threads");
}

/* The fork note's part: multiprocessing's own threads, Python's idle ones and exiting ones, left out. */
static void note_json(struct fa_buf *b, const struct fa_snapshot *s)
{
    if (s->threads_py_runtime) fa_record_json_int(b, "threads_python_runtime", (long long)s->threads_py_runtime);
    if (s->threads_py_idle) fa_record_json_int(b, "threads_python_idle", (long long)s->threads_py_idle);
    if (s->threads_exiting) fa_record_json_int(b, "threads_exiting", (long long)s->threads_exiting);
}

static void note_count(struct fa_buf *b, unsigned long n, const char *what)
{
    fa_puts(b, " (");
    fa_put_udec(b, n);
    fa_puts(b, n == 1 ? " thread" : " threads");
    fa_puts(b, what);
}

static void note_text(struct fa_buf *b, const struct fa_snapshot *s)
{
    if (s->threads_py_runtime) note_count(b, s->threads_py_runtime, " of multiprocessing's own machinery, not needed by its workers)");
    if (s->threads_py_idle) note_count(b, s->threads_py_idle, " started by Python, ending: past their last Python frame)");
    if (s->threads_exiting) note_count(b, s->threads_exiting, " exiting: past their thread-local destructors)");
}

const struct fa_finding fa_finding_THREADS = {
    .entries = entries,
    .keys = keys,
    .keep = keep,
    .set_entries = set_entries,
    .records = records,
    .emit_json = emit_json,
    .emit_text = emit_text,
    .note_json = note_json,
    .note_text = note_text,
};
