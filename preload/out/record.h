/* record.h: what every record shares, and the one way a record is written. It knows no
 * kind: findings/ decides what a record says, this file how its pieces look.
 *
 * A record is one line of JSON or a block of "==PID== "-prefixed text lines, written with
 * one write(2) (fa_record_write) and never larger than FA_RECORD_MAX: a list that would
 * pass it stops, and says how many entries it left out (fa_record_list_entry_overflows).
 * Everything here is async-signal-safe (no malloc, no stdio): records are written between
 * fork and exec and from signal handlers. */
#ifndef FA_RECORD_H
#define FA_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/fmt.h"
#include "track/heldlocks.h"
#include "audit/snapshot.h"

/* ---------------------------------------------------------------- writing */

/* The most one record may take (README: "a record never passes 4 MiB"). */
#define FA_RECORD_MAX ((size_t)4 << 20)

/* Renders one whole record into `b` (it may be called more than once, into larger
 * buffers: it must render the same record each time, from `ctx` only). */
typedef void fa_record_render_fn(struct fa_buf *b, void *ctx);

/* Renders a record with render(b, ctx) and writes it with one write(2): first into
 * `scratch` (scratch_len bytes: a snapshot's render arena, a small stack buffer, or NULL),
 * else into a mapped buffer that grows up to FA_RECORD_MAX, else (no memory) into
 * `scratch` again with its lists cut to fit. A record that still does not fit (its fixed
 * part alone is too large, or no memory and no scratch) is dropped whole: the log never
 * holds a torn line. Usable by every record, with or without a snapshot. */
void fa_record_write(char *scratch, size_t scratch_len, fa_record_render_fn *render, void *ctx);

/* Renders a record with render(b, ctx) into `b`, a mapped buffer (fa_buf_mapped) that may
 * grow up to `cap` bytes, its lists cut in time so that what follows them fits too
 * (rendering again with more room kept for that when it did not). 0 when the record is
 * whole in `b`, -1 when it cannot fit. fa_record_write uses it with FA_RECORD_MAX; tests
 * use a smaller cap. */
int fa_record_render_capped(struct fa_buf *b, size_t cap, fa_record_render_fn *render, void *ctx);

/* For a list inside a record, after rendering one entry that started at `mark`: 0 when it
 * fits; else 1, with the entry taken out again, and the list must stop there (and say how
 * many it left out: "threads_truncated", "... and N more not shown"). */
int fa_record_list_entry_overflows(struct fa_buf *b, size_t mark);

/* ---------------------------------------------------------------- the head */

/* A record's severity. Kinds name their default in findings/kinds.def. */
enum fa_level {
    FA_LEVEL_NOTE,
    FA_LEVEL_WARNING,
    FA_LEVEL_ERROR,
};
/* "note", "warning", "error" (JSON "severity"). */
const char *fa_level_name(enum fa_level level);
/* A kinds.def level string ("error", "warning", "note") as its enum. */
#define FA_LEVEL_OF(str) ((str)[0] == 'e' ? FA_LEVEL_ERROR : (str)[0] == 'w' ? FA_LEVEL_WARNING : FA_LEVEL_NOTE)

/* What every JSON record opens with: kind, severity, pid, ppid, tid, and (has_fork) the
 * fork the record is about or that made this process. */
struct fa_record_head {
    const char *kind;
    enum fa_level level;
    pid_t pid, ppid, tid;
    int has_fork;
    unsigned long fork_seq;
    pid_t fork_child;     /* > 0: written as "child_pid" */
    const char *fork_via;
};

/* A head for a record written by this process about itself, now: pid, ppid and tid read
 * here, no fork. */
void fa_record_head_now(struct fa_record_head *h, const char *kind, enum fa_level level);
/* Sets the head's fork: seq, child (> 0: "child_pid"), via (NULL: "fork"). */
void fa_record_head_fork(struct fa_record_head *h, unsigned long seq, pid_t child, const char *via);
/* Sets the head's fork to the one that made this process (fa_proc.born_*: its parent's
 * seq, this pid as child_pid, via) — the one place a child record names its fork. */
void fa_record_head_born_fork(struct fa_record_head *h);
/* {"kind":..,"severity":..,"pid":..,"ppid":..,"tid":..[,"fork":{..}] — left open. */
void fa_record_json_head(struct fa_buf *b, const struct fa_record_head *h);

/* ,"KEY":N */
void fa_record_json_int(struct fa_buf *b, const char *key, long long v);

/* "==PID== " */
void fa_record_prefix(struct fa_buf *b, pid_t pid);
/* "==PID== forkaudit: ERROR: KIND: " (WARNING:, NOTE:), the first line of a text record. */
void fa_record_text_title(struct fa_buf *b, pid_t pid, enum fa_level level, const char *kind);
/* "==PID== " then `text` (which ends its line). */
void fa_record_text_line(struct fa_buf *b, pid_t pid, const char *text);

/* ---------------------------------------------------------------- stacks */

/* A stack as a JSON array of frames (pc, module, offset, function, function_offset; the
 * last marked "truncated": true, "truncated_by" when the stack is not whole). */
void fa_record_frames_json(struct fa_buf *b, const uintptr_t *pc, int n);
/* A stack as text: numbered symbolized frames, each line "==PID== " + indent; "(no
 * stack)" when empty; a closing line when the stack is not whole. */
void fa_record_frames_text(struct fa_buf *b, pid_t pid, const uintptr_t *pc, int n, const char *indent);
/* Why the stack pc[0..n) is not whole: "stack_depth" (deeper frames left out: the depth
 * limit, or the call site only), "unwinder" (the unwinder could not go past its last
 * frame: no unwind information, or junk), NULL when it ends at a thread's first frame. */
const char *fa_record_stack_truncation(const uintptr_t *pc, int n);
/* A held lock's acquisition stack as rendered: with lock_stack_depth=1 a single frame is
 * the call site only, marked as such (in *one) for fa_record_stack_truncation. */
const uintptr_t *fa_record_held_frames(const uintptr_t *frames, int n, uintptr_t *one);
/* fa_record_frames_json() of a held lock's acquisition stack (see fa_record_held_frames). */
void fa_record_held_frames_json(struct fa_buf *b, const uintptr_t *frames, int n);

/* ---------------------------------------------------------------- locks */

/* "TYPE 0xADDR", and for a mutex (pthread or C11) " (KIND[, robust][, priority-inheritance])":
 * the text twin of fa_record_lock_json_open's type members; one function decides both. */
void fa_record_lock_text(struct fa_buf *b, const struct fa_held *h);
/* A lock as a JSON object, left open after its last member ("acquired_at") so a record may
 * add members before closing it with '}': type, addr, [mutex_type, robust,
 * priority_inheritance | mode], depth, holder_tid, [holder_name], SELF_KEY (the holder is
 * the thread that reports: "holder_is_forking_thread", "holder_is_receiving_thread"),
 * [holder_gone], acquired_at. */
void fa_record_lock_json_open(struct fa_buf *b, const struct fa_held *h, pid_t holder, const char *holder_name,
                              const char *self_key, int holder_is_self, int holder_gone);

/* ---------------------------------------------------------------- threads */

/* Why a thread's stack is missing (its stack_state), NULL when there is nothing to say. */
const char *fa_record_stack_missing(int stack_state);
/* ,"start_routine":NAME (or its address),"created_at":[frames] for a thread made through
 * pthread_create; nothing for the others. */
void fa_record_thread_origin_json(struct fa_buf *b, const struct fa_snap_thread *t);
/* ,"KEY":[frames] when the thread's stack is known, ,"KEY_missing":"why" else. */
void fa_record_thread_stack_json(struct fa_buf *b, const struct fa_snap_thread *t, const char *key);
/* ", start routine NAME, created at:" and its frames (indented by `indent`) for a thread
 * made through pthread_create; returns 0, writing nothing, for the others. */
int fa_record_thread_origin_text(struct fa_buf *b, pid_t pid, const struct fa_snap_thread *t, const char *indent);
/* The line `title` and the thread's stack (indented 6), or why it is missing. */
void fa_record_thread_stack_text(struct fa_buf *b, pid_t pid, const struct fa_snap_thread *t, const char *title);

/* ---------------------------------------------------------------- suppression */

/* The rule that would silence a finding of `kind` whose key stack is pc[0..n) (or whose
 * key text is `text` when pc is NULL): see fa_suppress_suggest. */
/* ,"suppression":"kind:pattern" */
void fa_record_suggestion_json(struct fa_buf *b, const char *kind, const uintptr_t *pc, int n, const char *text);
/* "==PID== " INDENT "suppress with: kind:pattern\n" */
void fa_record_suggestion_text(struct fa_buf *b, pid_t pid, const char *indent, const char *kind, const uintptr_t *pc,
                               int n, const char *text);

#endif
