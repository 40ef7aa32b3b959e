/* state.c: the state record of a state dump (dump_signal, `forkaudit explain PID`) — the
 * process's lineage, the locks each thread holds now, the locks it inherited held at the
 * fork that made it, and its threads — and the note that says why there is no dump. */
#include "findings/finding.h"
#include "findings/findings.h"

static const char *born_via(const struct fa_lineage *lin) { return lin->born_via ? lin->born_via : "fork"; }

static const char *stack_missing(const struct fa_snap_thread *t, int receiver, const struct fa_lineage *lin)
{
    if (receiver && t->stack_state == FA_STACK_BUSY && lin->no_unwind)
        return "not unwound: a forked child of a multithreaded process (libunwind is not safe there)";
    if (receiver && t->stack_state == FA_STACK_BUSY)
        return "not safe to unwind here (inside forkaudit, on an alternate signal stack, or in a forked child "
               "of a multithreaded process)";
    if (t->stack_state == FA_STACK_NONE) return "not collected: stack_signal is off";
    return fa_record_stack_missing(t->stack_state);
}

/* A lock of a state dump is held now (by a thread of this process) and/or was inherited
 * held at the fork that made this process. */
static int lock_now(const struct fa_snap_lock *l) { return !l->holder_gone; }
static int lock_inherited(const struct fa_snap_lock *l) { return l->holder_gone || (l->held.flags & FA_HELD_INHERITED); }
static int lock_listed(const struct fa_snap_lock *l, int inherited)
{
    return inherited ? lock_inherited(l) : lock_now(l);
}

static const char *thread_name(const struct fa_snapshot *s, pid_t tid)
{
    if (tid == s->tid) return s->receiver.name;
    const struct fa_snap_thread *t = fa_finding_thread(s, tid);
    return t ? t->name : NULL;
}

/* ---------------------------------------------------------------- JSON */

static void json_thread(struct fa_buf *b, const struct fa_snap_thread *t, int receiver, const struct fa_lineage *lin)
{
    fa_puts(b, "{\"tid\":");
    fa_put_dec(b, t->tid);
    fa_puts(b, ",\"name\":");
    fa_put_json_str(b, t->name);
    fa_puts(b, receiver ? ",\"receiving\":true" : ",\"receiving\":false");
    fa_record_thread_origin_json(b, t);
    if (t->stack_state == FA_STACK_OK) {
        fa_puts(b, ",\"stack\":");
        fa_record_frames_json(b, t->stack, t->nstack);
    } else {
        fa_puts(b, ",\"stack_missing\":");
        fa_put_json_str(b, stack_missing(t, receiver, lin));
    }
    fa_putc(b, '}');
}

static void json_lock(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_lock *l, int inherited,
                      const struct fa_lineage *lin)
{
    if (inherited) {
        /* held at the fork by a thread of the parent: another one (gone), or the forking
         * thread whose copy is this process's thread */
        pid_t holder = l->holder_gone ? l->holder : lin->born_tid;
        fa_record_lock_json_open(b, &l->held, holder, NULL, "holder_is_forking_thread", !l->holder_gone,
                                 l->holder_gone);
        if (!l->holder_gone) fa_record_json_int(b, "now_held_by_tid", l->holder); /* who holds it now */
    } else {
        fa_record_lock_json_open(b, &l->held, l->holder, thread_name(s, l->holder), "holder_is_receiving_thread",
                                 l->holder == s->tid, 0);
        if (l->held.flags & FA_HELD_INHERITED) fa_puts(b, ",\"inherited\":true");
    }
    fa_putc(b, '}');
}

static void json_locks(struct fa_buf *b, const struct fa_snapshot *s, int inherited, const struct fa_lineage *lin)
{
    int first = 1, left_out = 0;
    fa_puts(b, inherited ? ",\"locks_inherited\":[" : ",\"locks_held\":[");
    for (int i = 0; i < s->nlocks; i++) {
        const struct fa_snap_lock *l = &s->locks[i];
        if (!lock_listed(l, inherited)) continue;
        if (left_out) {
            left_out++;
            continue;
        }
        size_t mark = b->len;
        if (!first) fa_putc(b, ',');
        first = 0;
        json_lock(b, s, l, inherited, lin);
        if (fa_record_list_entry_overflows(b, mark)) left_out = 1;
    }
    fa_putc(b, ']');
    if (left_out) fa_record_json_int(b, inherited ? "locks_inherited_truncated" : "locks_held_truncated", left_out);
}

static void json_state(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_lineage *lin,
                       const struct fa_options *o)
{
    struct fa_record_head h = {.kind = fa_kind_name(FA_KIND_STATE), .level = fa_kind_level(FA_KIND_STATE),
                               .pid = s->pid, .ppid = s->ppid, .tid = s->tid};
    if (lin->forked_child) fa_record_head_fork(&h, lin->born_seq, s->pid, lin->born_via); /* as child records */
    fa_record_json_head(b, &h);
    fa_puts(b, ",\"stack\":");
    fa_record_frames_json(b, s->stack.pc, s->stack.n);
    fa_record_json_int(b, "signal", o->dump_signal);
    fa_puts(b, ",\"lineage\":{\"pid\":");
    fa_put_dec(b, s->pid);
    fa_record_json_int(b, "ppid", s->ppid);
    fa_puts(b, ",\"forks\":");
    fa_put_udec(b, s->seq);
    fa_puts(b, lin->forked_child ? ",\"forked_child\":true" : ",\"forked_child\":false");
    if (lin->forked_child) {
        if (lin->born_parent > 0) fa_record_json_int(b, "parent_pid", lin->born_parent);
        fa_puts(b, ",\"parent_fork_seq\":");
        fa_put_udec(b, lin->born_seq);
        if (lin->born_tid > 0) fa_record_json_int(b, "parent_tid", lin->born_tid);
        fa_puts(b, ",\"via\":\"");
        fa_puts(b, born_via(lin));
        fa_putc(b, '"');
    }
    fa_putc(b, '}');
    json_locks(b, s, 0, lin);
    json_locks(b, s, 1, lin);
    if (s->locks_dropped) fa_record_json_int(b, "locks_dropped", (long long)s->locks_dropped);
    if (s->locks_overflow) fa_record_json_int(b, "locks_overflow", (long long)s->locks_overflow);
    fa_puts(b, ",\"threads\":[");
    json_thread(b, &s->receiver, 1, lin);
    int shown = 0;
    for (int i = 0; i < s->nthreads; i++, shown++) {
        size_t mark = b->len;
        fa_putc(b, ',');
        json_thread(b, &s->threads[i], 0, lin);
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_putc(b, ']');
    if (shown < s->nthreads) fa_record_json_int(b, "threads_truncated", s->nthreads - shown);
    if (s->threads_dropped) fa_record_json_int(b, "threads_dropped", (long long)s->threads_dropped);
    if (s->threads_untracked) fa_record_json_int(b, "threads_untracked", (long long)s->threads_untracked);
    fa_puts(b, "}\n");
}

/* ---------------------------------------------------------------- text */

static void text_thread(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_thread *t, int receiver,
                        const struct fa_lineage *lin)
{
    fa_record_prefix(b, s->pid);
    fa_puts(b, "    thread ");
    fa_put_dec(b, t->tid);
    fa_puts(b, " \"");
    fa_puts(b, t->name);
    fa_putc(b, '"');
    if (receiver) fa_puts(b, " (received the signal)");
    if (!fa_record_thread_origin_text(b, s->pid, t, "      ")) fa_putc(b, '\n');
    if (t->stack_state == FA_STACK_OK) {
        fa_record_text_line(b, s->pid, "      now at:\n");
        fa_record_frames_text(b, s->pid, t->stack, t->nstack, "        ");
    } else {
        fa_record_prefix(b, s->pid);
        fa_puts(b, "      (stack ");
        fa_puts(b, stack_missing(t, receiver, lin));
        fa_puts(b, ")\n");
    }
}

static void text_lock(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_snap_lock *l, int inherited,
                      const struct fa_lineage *lin)
{
    fa_record_prefix(b, s->pid);
    fa_puts(b, "    ");
    fa_record_lock_text(b, &l->held);
    if (l->held.type == FA_LOCK_RWLOCK) fa_puts(b, l->held.flags & FA_HELD_READ ? " (read)" : " (write)");
    if (inherited && l->holder_gone) {
        fa_puts(b, " held at the fork by thread ");
        fa_put_dec(b, l->holder);
        fa_puts(b, " of an ancestor process, which this process does not have: nobody will unlock it");
    } else if (inherited) {
        fa_puts(b, " held at the fork by the forking thread ");
        fa_put_dec(b, lin->born_tid);
        fa_puts(b, ", still held by its copy, thread ");
        fa_put_dec(b, l->holder);
    } else {
        const char *hn = thread_name(s, l->holder);
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
    fa_record_frames_text(b, s->pid, fa_record_held_frames(l->held.frames, l->held.nframes, &one), l->held.nframes,
                          "      ");
}

static void text_lineage(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_lineage *lin)
{
    fa_record_prefix(b, s->pid);
    fa_puts(b, "  lineage: parent ");
    fa_put_dec(b, s->ppid);
    if (lin->forked_child) {
        fa_puts(b, "; forked by thread ");
        fa_put_dec(b, lin->born_tid);
        if (lin->born_parent > 0) {
            fa_puts(b, " of process ");
            fa_put_dec(b, lin->born_parent);
        }
        fa_puts(b, " at its fork #");
        fa_put_udec(b, lin->born_seq);
        fa_puts(b, " (via ");
        fa_puts(b, born_via(lin));
        fa_puts(b, ")");
    } else {
        fa_puts(b, "; not a child made by fork under the auditor");
    }
    fa_puts(b, "; forks made so far: ");
    fa_put_udec(b, s->seq);
    fa_putc(b, '\n');
}

static void text_state(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_lineage *lin,
                       const struct fa_options *o)
{
    pid_t pid = s->pid;
    fa_record_text_title(b, pid, fa_kind_level(FA_KIND_STATE), fa_kind_name(FA_KIND_STATE));
    fa_puts(b, "process ");
    fa_put_dec(b, pid);
    fa_puts(b, " on signal ");
    fa_put_dec(b, o->dump_signal);
    fa_puts(b, " (dump_signal), received by thread ");
    fa_put_dec(b, s->tid);
    fa_puts(b, "\n");
    text_lineage(b, s, lin);
    for (int inherited = 0; inherited < 2; inherited++) {
        int n = 0;
        for (int i = 0; i < s->nlocks; i++) n += lock_listed(&s->locks[i], inherited);
        fa_record_prefix(b, pid);
        fa_puts(b, inherited ? "  locks inherited held at the fork: " : "  locks held now: ");
        fa_put_dec(b, n);
        fa_puts(b, n ? "\n" : " (none)\n");
        int left_out = 0;
        for (int i = 0; i < s->nlocks; i++) {
            if (!lock_listed(&s->locks[i], inherited)) continue;
            if (left_out) {
                left_out++;
                continue;
            }
            size_t mark = b->len;
            text_lock(b, s, &s->locks[i], inherited, lin);
            if (fa_record_list_entry_overflows(b, mark)) left_out = 1;
        }
        fa_finding_truncated_note(b, s, "    ", left_out);
    }
    if (s->locks_dropped || s->locks_overflow) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  ... and ");
        fa_put_udec(b, s->locks_dropped + s->locks_overflow);
        fa_puts(b, " more locks not listed (max_locks, or more than 64 held by one thread)\n");
    }
    fa_record_prefix(b, pid);
    fa_puts(b, "  threads: ");
    fa_put_dec(b, s->nthreads + 1 + (long long)s->threads_dropped);
    fa_putc(b, '\n');
    text_thread(b, s, &s->receiver, 1, lin);
    int shown = 0;
    for (int i = 0; i < s->nthreads; i++, shown++) {
        size_t mark = b->len;
        text_thread(b, s, &s->threads[i], 0, lin);
        if (fa_record_list_entry_overflows(b, mark)) break;
    }
    fa_finding_list_end(b, s, "    ", s->nthreads - shown, s->threads_dropped, "max_threads");
    fa_record_text_line(b, pid, "\n");
}

void fa_findings_render_state(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_lineage *lin,
                              const struct fa_options *o)
{
    if (o->format == FA_FORMAT_JSON) json_state(b, s, lin, o);
    else text_state(b, s, lin, o);
}

void fa_finding_state_unavailable(struct fa_buf *b, const struct fa_record_head *h, const char *why,
                                  const struct fa_options *o)
{
    if (o->format == FA_FORMAT_JSON) {
        fa_record_json_head(b, h);
        fa_puts(b, ",\"stack\":[]");
        fa_record_json_int(b, "signal", o->dump_signal);
        fa_puts(b, ",\"unavailable\":");
        fa_put_json_str(b, why);
        fa_puts(b, "}\n");
        return;
    }
    fa_record_text_title(b, h->pid, h->level, h->kind);
    fa_puts(b, "no state dump on signal ");
    fa_put_dec(b, o->dump_signal);
    fa_puts(b, ": ");
    fa_puts(b, why);
    fa_puts(b, "\n");
}
