/* lock_held.c: lock-held-at-fork, one record per lock held at the fork. An error when
 * the child has no thread that will unlock it (another thread held it) or cannot unlock
 * it (glibc checks the owner); a warning when the forking thread held a lock its copy in
 * the child may still unlock. */
#include "findings/finding.h"
#include <string.h>

/* What a Python lock is ("threading.Lock", ...; a Python process's semaphores are Python's
 * locks even when no object was found for them), NULL for the others. */
static const char *python_kind(const struct fa_snapshot *s, const struct fa_snap_lock *l)
{
    if (l->py_kind) return l->py_kind;
    return s->py && s->py->present && l->held.type == FA_LOCK_SEM ? "Python lock" : NULL;
}

/* The rule suggested: a Python lock's name, else its acquisition site. */
static void suggestion_json(struct fa_buf *b, const struct fa_finding_in *in, const struct fa_snap_lock *l)
{
    int named = l->py_name[0] != 0;
    fa_record_suggestion_json(b, fa_kind_name(in->kind), named ? NULL : l->held.frames, named ? 0 : l->held.nframes,
                              named ? l->py_name : NULL);
}

static void suggestion_text(struct fa_buf *b, const struct fa_finding_in *in, const struct fa_snap_lock *l)
{
    int named = l->py_name[0] != 0;
    fa_record_suggestion_text(b, in->s->pid, "  ", fa_kind_name(in->kind), named ? NULL : l->held.frames,
                              named ? 0 : l->held.nframes, named ? l->py_name : NULL);
}

/* The holder's name: threading's for a Python thread, else the kernel's. */
static const char *holder_name(const struct fa_snapshot *s, const struct fa_snap_lock *l,
                               const struct fa_snap_thread *holder)
{
    const char *py = fa_finding_py_thread_name(s, l->holder_self);
    return py ? py : holder ? holder->name : NULL;
}

static int entries(const struct fa_snapshot *s) { return s->nlocks; }

static void keys(const struct fa_snapshot *s, int i, struct fa_finding_keys *k)
{
    const struct fa_snap_lock *l = &s->locks[i];
    if (l->py_name[0]) fa_finding_key_text(k, l->py_name); /* a Python lock: by its variable, "__main__.lock" */
    const struct fa_snap_thread *holder = fa_finding_thread(s, l->holder);
    k->pc[0] = l->held.frames;
    k->n[0] = l->held.nframes;
    k->nstacks = 1;
    if (holder) {
        k->pc[1] = holder->stack;
        k->n[1] = holder->nstack;
        k->nstacks = 2;
    }
}

static void keep(struct fa_snapshot *s, int to, int from) { s->locks[to] = s->locks[from]; }
static void set_entries(struct fa_snapshot *s, int n) { s->nlocks = n; }

static enum fa_level level(const struct fa_snapshot *s, int index)
{
    const struct fa_snap_lock *l = &s->locks[index];
    return !l->holder_is_forking_thread || fa_held_owner_checked(l->held.type, l->held.kind) ? FA_LEVEL_ERROR
                                                                                              : FA_LEVEL_WARNING;
}

/* The holder's name and its thread entry: only for another thread than the forking one. */
static const struct fa_snap_thread *other_holder(const struct fa_snapshot *s, const struct fa_snap_lock *l)
{
    return l->holder_is_forking_thread ? NULL : fa_finding_thread(s, l->holder);
}

/* Where Python took the lock (audit/python_capture.c), as frames; 0 when not known. */
static int taken_at(const struct fa_snapshot *s, const struct fa_snap_lock *l, struct fa_py_frame *f)
{
    if (l->py_taken <= 0 || l->py_taken > s->npy_taken) return 0;
    const struct fa_snap_py_taken *t = &s->py_taken[l->py_taken - 1];
    for (int i = 0; i < t->n; i++)
        f[i] = (struct fa_py_frame){t->f[i].file, strlen(t->f[i].file), t->f[i].line, t->f[i].function,
                                    strlen(t->f[i].function), t->f[i].own};
    return t->n;
}

static void emit_json(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    const struct fa_snap_lock *l = &s->locks[in->index];
    const struct fa_snap_thread *holder = other_holder(s, l);
    fa_puts(b, ",\"lock\":");
    fa_record_lock_json_open(b, &l->held, l->holder, holder_name(s, l, holder), "holder_is_forking_thread",
                             l->holder_is_forking_thread, l->holder_gone);
    if (holder) fa_record_thread_stack_json(b, holder, "holder_stack_at_fork");
    const char *kind = python_kind(s, l);
    if (kind) {
        fa_puts(b, ",\"python\":{\"kind\":");
        fa_put_json_str(b, kind);
        if (l->py_name[0]) {
            fa_puts(b, ",\"name\":");
            fa_put_json_str(b, l->py_name);
        }
        fa_putc(b, '}');
    }
    struct fa_py_frame py[FA_MAX_FRAMES];
    int npy = l->holder_gone ? 0 : fa_finding_py_stack(s, l->holder_self, py, in->o->stack_depth);
    fa_pystack_json(b, "holder_python_stack_at_fork", py, npy);
    fa_pystack_json(b, "python_acquired_at", py, taken_at(s, l, py));
    fa_putc(b, '}');
    suggestion_json(b, in, l);
}

static void emit_text(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    const struct fa_snap_lock *l = &s->locks[in->index];
    const struct fa_snap_thread *holder = other_holder(s, l);
    pid_t pid = s->pid;
    const char *hname = holder_name(s, l, holder);
    const char *kind = python_kind(s, l);
    if (kind) {
        fa_puts(b, kind);
        if (l->py_name[0]) {
            fa_putc(b, ' ');
            fa_puts(b, l->py_name);
        }
        fa_puts(b, " (");
        fa_record_lock_text(b, &l->held);
        fa_putc(b, ')');
    } else {
        fa_record_lock_text(b, &l->held);
    }
    if (l->holder_is_forking_thread) {
        fa_puts(b, " is held by the forking thread ");
        fa_put_dec(b, l->holder);
    } else if (l->holder_gone) {
        fa_puts(b, " is held by thread ");
        fa_put_dec(b, l->holder);
        fa_puts(b, " of an ancestor process, which this process does not have");
    } else {
        fa_puts(b, " is held by thread ");
        fa_put_dec(b, l->holder);
        if (hname) {
            fa_puts(b, " \"");
            fa_puts(b, hname);
            fa_putc(b, '"');
        }
    }
    fa_puts(b, " at ");
    fa_finding_fork_ref(b, s);
    fa_puts(b, "\n");
    if (l->holder_is_forking_thread && fa_held_owner_checked(l->held.type, l->held.kind))
        fa_record_text_line(b, pid, "  the child inherits it locked and cannot even unlock it: glibc checks the owner's tid, and the child's thread has another\n");
    else if (l->holder_is_forking_thread)
        fa_record_text_line(b, pid, "  the child inherits it locked: only the child's own unlock can free it; locking it first deadlocks\n");
    else if (l->holder_gone)
        fa_record_text_line(b, pid, "  this process inherited it locked at an earlier fork, and so does the child: nobody will unlock it\n");
    else
        fa_record_text_line(b, pid, "  the child inherits it locked and has no thread that will ever unlock it\n");
    struct fa_py_frame py[FA_MAX_FRAMES];
    int npy = l->holder_gone ? 0 : fa_finding_py_stack(s, l->holder_self, py, in->o->stack_depth);
    if (npy > 0) { /* a Python holder: where it was in Python, not the interpreter's C frames */
        struct fa_py_frame taken[FA_PYLOCK_FRAMES];
        int ntaken = taken_at(s, l, taken);
        fa_pystack_text(b, pid, "  taken at (Python, most recent call first):\n", "    ", taken, ntaken);
        if (l->holder_is_forking_thread)
            fa_record_text_line(b, pid, ntaken ? "  by the forking thread, before it forked (where it forked: below)\n"
                                               : "  taken by the forking thread before it forked (where it forked: below)\n");
        else
            fa_pystack_text(b, pid, "  at the fork its holder was at (Python, most recent call first):\n", "    ", py, npy);
        suggestion_text(b, in, l);
        return;
    }
    fa_record_prefix(b, pid);
    fa_puts(b, "  acquired by thread ");
    fa_put_dec(b, l->holder);
    if (l->held.depth > 1) {
        fa_puts(b, " (depth ");
        fa_put_udec(b, l->held.depth);
        fa_putc(b, ')');
    }
    fa_puts(b, " at:\n");
    uintptr_t one;
    fa_record_frames_text(b, pid, fa_record_held_frames(l->held.frames, l->held.nframes, &one), l->held.nframes,
                          "    ");
    if (l->held.nframes == 1)
        fa_record_text_line(b, pid, "    (the call site only: lock_stack_depth=8 records deeper acquisition stacks)\n");
    if (holder) fa_record_thread_stack_text(b, pid, holder, "  and at the fork the holder was at:\n");
    suggestion_text(b, in, l);
}

const struct fa_finding fa_finding_LOCK = {
    .entries = entries,
    .keys = keys,
    .keep = keep,
    .set_entries = set_entries,
    .records = entries,
    .level = level,
    .emit_json = emit_json,
    .emit_text = emit_text,
};
