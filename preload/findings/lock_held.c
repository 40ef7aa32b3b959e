/* lock_held.c: lock-held-at-fork, one record per lock held at the fork. An error when
 * the child has no thread that will unlock it (another thread held it) or cannot unlock
 * it (glibc checks the owner); a warning when the forking thread held a lock its copy in
 * the child may still unlock. */
#include "findings/finding.h"

static int entries(const struct fa_snapshot *s) { return s->nlocks; }

static void keys(const struct fa_snapshot *s, int i, struct fa_finding_keys *k)
{
    const struct fa_snap_lock *l = &s->locks[i];
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

static void emit_json(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    const struct fa_snap_lock *l = &s->locks[in->index];
    const struct fa_snap_thread *holder = other_holder(s, l);
    fa_puts(b, ",\"lock\":");
    fa_record_lock_json_open(b, &l->held, l->holder, holder ? holder->name : NULL, "holder_is_forking_thread",
                             l->holder_is_forking_thread, l->holder_gone);
    if (holder) fa_record_thread_stack_json(b, holder, "holder_stack_at_fork");
    fa_putc(b, '}');
    fa_record_suggestion_json(b, fa_kind_name(in->kind), l->held.frames, l->held.nframes, NULL);
}

static void emit_text(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    const struct fa_snap_lock *l = &s->locks[in->index];
    const struct fa_snap_thread *holder = other_holder(s, l);
    pid_t pid = s->pid;
    fa_record_lock_text(b, &l->held);
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
        if (holder) {
            fa_puts(b, " \"");
            fa_puts(b, holder->name);
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
    fa_record_suggestion_text(b, pid, "  ", fa_kind_name(in->kind), l->held.frames, l->held.nframes, NULL);
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
