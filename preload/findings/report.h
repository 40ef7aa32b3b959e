/* report.h: render a fork-time snapshot as text (sanitizer style) or JSON records. */
#ifndef FA_REPORT_H
#define FA_REPORT_H

#include "base/fmt.h"
#include "base/options.h"
#include "audit/snapshot.h"

enum fa_kind {
    FA_KIND_THREADS, /* threads-at-fork */
    FA_KIND_LOCK,    /* lock-held-at-fork, one record per lock */
    FA_KIND_FDS,     /* fds-at-fork */
    FA_KIND_RNG,     /* rng-at-fork, one record per generator */
    FA_KIND_FORK,    /* fork (note, verbosity >= 1): one per fork with the counts */
    FA_KIND_EXEC_FDS, /* fds-leaked-at-exec: a snapshot made by fa_exec_audit */
};

/* Appends one complete record (newline-terminated) to `b`. `index` selects the lock or
 * generator for FA_KIND_LOCK and FA_KIND_RNG. */
void fa_render(struct fa_buf *b, const struct fa_snapshot *s, enum fa_kind kind, int index,
               const struct fa_options *o);
/* Pieces shared with the other records (child-deadlock): "==PID== ", a stack as text
 * (numbered frames, each line prefixed) or as a JSON array, and a JSON "lock" member. */
void fa_render_prefix(struct fa_buf *b, pid_t pid);
void fa_render_frames_text(struct fa_buf *b, pid_t pid, const uintptr_t *pc, int n, const char *indent);
void fa_render_frames_json(struct fa_buf *b, const uintptr_t *pc, int n);
/* Why the stack pc[0..n) is not whole: "stack_depth" (deeper frames left out: the depth
 * limit, or the call site only), "unwinder" (the unwinder could not go past its last
 * frame: no unwind information, or junk), NULL when it ends at a thread's first frame.
 * JSON marks its last frame "truncated": true, "truncated_by": the reason. */
const char *fa_stack_truncation(const uintptr_t *pc, int n);
/* A held lock's acquisition stack as rendered: with lock_stack_depth=1 a single frame is
 * the call site only, marked as such (in *one) for fa_stack_truncation: "stack_depth". */
const uintptr_t *fa_held_frames(const uintptr_t *frames, int n, uintptr_t *one);
/* fa_render_frames_json() for a held lock's acquisition stack (see fa_held_frames). */
void fa_render_held_frames_json(struct fa_buf *b, const uintptr_t *frames, int n);
void fa_render_lock_json(struct fa_buf *b, const struct fa_held *h, pid_t holder, const char *holder_name,
                         int holder_is_forking_thread, int holder_gone);
/* Opens a JSON record written by a forked child about what it inherited, up to and with
 * its "stack" member: kind, severity, pid, ppid, tid, and "fork" naming the fork that made
 * this process (its parent's seq, this pid as child_pid, via). */
void fa_render_child_record_json(struct fa_buf *b, const char *kind, const char *severity, const uintptr_t *pc,
                                 int n);
/* Writes a rendered record, dropping it whole if it did not fit. */
void fa_report_write(const struct fa_buf *b);

/* "normal", "recursive", "errorcheck" or "adaptive" for a mutex's kind bits. */
const char *fa_mutex_kind_name(unsigned kind);

/* Renders and writes every record of the snapshot, one write(2) each. */
void fa_report_snapshot(struct fa_snapshot *s, const struct fa_options *o);
/* Whether the snapshot left something out (a full table, an unwrapped handler): the fork
 * note is then always written, to say so. */
int fa_snapshot_overflowed(const struct fa_snapshot *s);
/* Writes the state record of a state dump (fa_audit_state), one write(2). */
void fa_report_state(struct fa_snapshot *s, const struct fa_options *o);
/* Writes a short state record that says why there is no dump this time (`why`). */
void fa_report_state_unavailable(const char *why, const struct fa_options *o);
/* Writes a fork note saying that fork `seq` (made `via` ...) is not audited: the snapshot
 * of `bytes` bytes could not be mapped. */
void fa_report_unaudited(unsigned long seq, const char *via, size_t bytes, const struct fa_options *o);
/* Writes the fds-leaked-at-exec record of an exec audit (nothing when no fd leaks). */
void fa_report_exec(struct fa_snapshot *s, const struct fa_options *o);

#endif
