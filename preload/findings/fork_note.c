/* fork_note.c: the fork note — one per fork, with the counts of its findings and what
 * did not fit (JSON: verbosity=1 or an overflow; text: the SUMMARY line closing a fork with
 * findings) — and the note for a fork that could not be audited at all. */
#include "findings/finding.h"

#include <errno.h>

#include "out/log.h"
#include "out/symbolize.h"
#include "track/fdtrack.h"

/* Each FORK row's fa_finding_<id>, in kinds.def order, for its part of the note. */
#define FA_FORK_FINDING_FORK(id) &fa_finding_##id,
#define FA_FORK_FINDING_EXEC(id)
#define FA_FORK_FINDING_CHILD(id)
#define FA_FORK_FINDING_DUMP(id)
#define FA_FORK_FINDING_EXIT(id)
static const struct fa_finding *const fork_findings[] = {
#define FA_KIND(id, name, phase, level, title, help) FA_FORK_FINDING_##phase(id)
#include "findings/kinds.def"
#undef FA_KIND
};
#define FORK_FINDINGS ((int)(sizeof fork_findings / sizeof fork_findings[0]))

int fa_snapshot_overflowed(const struct fa_snapshot *s)
{
    if (s->locks_dropped || s->locks_overflow || s->threads_dropped || s->threads_untracked || s->fds_dropped ||
        s->fds_untracked || s->semaphores_untracked || s->prepare_unwrapped || s->fds_listing_errno ||
        fa_log_dropped_unsaid())
        return 1;
    for (int i = 0; i < FORK_FINDINGS; i++)
        if (fork_findings[i]->overflowed && fork_findings[i]->overflowed(s)) return 1;
    return 0;
}

/* The kinds' own counters (their note_json / note_text), where the stdio ones always sat. */
static void kinds_note_json(struct fa_buf *b, const struct fa_snapshot *s)
{
    for (int i = 0; i < FORK_FINDINGS; i++)
        if (fork_findings[i]->note_json) fork_findings[i]->note_json(b, s);
}

static void kinds_note_text(struct fa_buf *b, const struct fa_snapshot *s)
{
    for (int i = 0; i < FORK_FINDINGS; i++)
        if (fork_findings[i]->note_text) fork_findings[i]->note_text(b, s);
}

/* ,"KEY":N when N is not zero. */
static void json_count(struct fa_buf *b, const char *key, unsigned long n)
{
    if (n) fa_record_json_int(b, key, (long long)n);
}

static void emit_json(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    struct fa_record_head h = {.kind = fa_kind_name(in->kind), .level = in->level, .pid = s->pid,
                               .ppid = s->ppid, .tid = s->tid};
    fa_record_head_fork(&h, s->seq, s->child, s->via);
    fa_record_json_head(b, &h);
    fa_puts(b, ",\"stack\":");
    fa_record_frames_json(b, s->stack.pc, s->stack.n);
    fa_finding_py_stack_json(b, s);
    fa_record_json_int(b, "errors", in->errors);
    fa_record_json_int(b, "warnings", in->warnings);
    fa_record_json_int(b, "threads", s->nthreads + (long long)s->threads_dropped);
    fa_record_json_int(b, "locks_held", s->nlocks + (long long)s->locks_dropped);
    fa_record_json_int(b, "locks_protected_by_atfork", (long long)s->locks_protected);
    json_count(b, "locks_dropped", s->locks_dropped);
    json_count(b, "locks_untracked", s->locks_overflow);
    json_count(b, "threads_dropped", s->threads_dropped);
    json_count(b, "threads_untracked", s->threads_untracked);
    json_count(b, "fds_dropped", s->fds_dropped);
    json_count(b, "fds_untracked", s->fds_untracked);
    json_count(b, "semaphores_untracked", s->semaphores_untracked);
    unsigned long dropped = fa_log_dropped_unsaid();
    json_count(b, "log_records_dropped", dropped);
    fa_log_note_carries(dropped);
    kinds_note_json(b, s);
    if (s->fds_listing_errno) fa_record_json_int(b, "fds_listing_errno", s->fds_listing_errno);
    json_count(b, "atfork_handlers_unwrapped", s->prepare_unwrapped);
    fa_record_json_int(b, "fds", s->nfds + (long long)s->fds_dropped);
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

static void emit_text(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_snapshot *s = in->s;
    fa_record_prefix(b, s->pid);
    fa_puts(b, "SUMMARY: forkaudit: ");
    fa_finding_fork_ref(b, s);
    fa_puts(b, " by thread ");
    fa_put_dec(b, s->tid);
    fa_puts(b, ": ");
    fa_put_dec(b, in->errors);
    fa_puts(b, in->errors == 1 ? " error, " : " errors, ");
    fa_put_dec(b, in->warnings);
    fa_puts(b, in->warnings == 1 ? " warning" : " warnings");
    count_note(b, s->locks_protected, " held locks protected by atfork handlers");
    count_note(b, s->locks_dropped, " more held locks not reported: max_locks");
    count_note(b, s->locks_overflow, " lock acquisitions not tracked: a thread held more than 64 locks");
    count_note(b, s->threads_dropped, " more threads not listed: max_threads");
    count_note(b, s->threads_untracked, " threads not tracked: thread table full");
    count_note(b, s->fds_dropped, " more descriptors not listed: max_fds");
    count_note(b, s->fds_untracked, " descriptors numbered " FA_STR(FA_FD_TRACKED) " or above, opening sites not kept");
    count_note(b, s->semaphores_untracked, " semaphores not tracked: semaphore registry full");
    unsigned long dropped = fa_log_dropped_unsaid();
    count_note(b, dropped, " records dropped before: the log, a pipe nobody read, would have blocked the program");
    fa_log_note_carries(dropped);
    kinds_note_text(b, s);
    count_note(b, s->prepare_unwrapped, " atfork prepare handlers not watched: locks they take may be reported");
    if (s->fds_listing_errno) {
        fa_puts(b, " (/proc/self/fd could not be opened: ");
        fa_put_errno(b, s->fds_listing_errno);
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
    if (in->o->verbosity >= 1) {
        fa_puts(b, "; threads ");
        fa_put_dec(b, s->nthreads + (long long)s->threads_dropped);
        fa_puts(b, ", locks held ");
        fa_put_dec(b, s->nlocks + (long long)s->locks_dropped);
        fa_puts(b, ", fds ");
        fa_put_dec(b, s->nfds + (long long)s->fds_dropped);
    }
    fa_putc(b, '\n');
}

static int records(const struct fa_snapshot *s)
{
    (void)s;
    return 1; /* whether it is written, findings.c decides */
}

const struct fa_finding fa_finding_FORK = {
    .records = records,
    .emit_json = emit_json,
    .emit_text = emit_text,
    .whole_record = 1,
};

void fa_finding_unaudited(struct fa_buf *b, const struct fa_record_head *h, size_t bytes, const struct fa_options *o)
{
    if (o->format == FA_FORMAT_JSON) {
        fa_record_json_head(b, h);
        fa_puts(b, ",\"stack\":[]");
        fa_record_json_int(b, "snapshot_bytes", (long long)bytes);
        fa_puts(b, ",\"unaudited\":\"no memory for the snapshot (max_threads, max_locks, max_fds size it); "
                   "said once per process\"}\n");
        return;
    }
    fa_record_prefix(b, h->pid);
    fa_puts(b, "forkaudit: NOTE: fork #");
    fa_put_udec(b, h->fork_seq);
    fa_puts(b, " (via ");
    fa_puts(b, h->fork_via);
    fa_puts(b, ") is not audited: no memory for its snapshot (");
    fa_put_udec(b, bytes);
    fa_puts(b, " bytes; max_threads, max_locks and max_fds size it); said once per process\n");
}
