/* child_record.h: what the records a forked child writes about its inheritance share
 * (rng-reused-in-child, child-deadlock, child-stuck): the fork that made the child, their
 * JSON head and text prefix, and how they are written: one write(2), never more than
 * FA_CHILD_RECORD_MAX bytes, a list that would pass it cut with a count of what it left
 * out. Async-signal-safe: these records are written between fork and exec, and from the
 * watchdog's signal handler. */
#ifndef FA_CHILD_RECORD_H
#define FA_CHILD_RECORD_H

#include <stdint.h>
#include <sys/types.h>

#include "base/fmt.h"

/* The size limit of every record (README: "A record never passes 4 MiB"). */
#define FA_CHILD_RECORD_MAX ((size_t)4 << 20)

/* Where a forked child comes from: filled by the detector (fa_child_origin_now), read by
 * the renderers, which take no global. */
struct fa_child_origin {
    pid_t pid, ppid, tid; /* this process, its parent, the thread writing the record */
    pid_t born_tid;       /* the parent's thread that forked */
    unsigned long seq;    /* the parent's fork number */
    const char *via;      /* "fork" or "atfork" */
};

/* This process's origin, for a detector about to fill an event. */
void fa_child_origin_now(struct fa_child_origin *o);

/* {"kind":…,"severity":…,"pid":…,"ppid":…,"tid":…,"fork":{"seq","child_pid","via"},
 * "stack":[…] — the record left open for its own members. */
void fa_child_record_head_json(struct fa_buf *b, const char *kind, const char *severity,
                               const struct fa_child_origin *o, const uintptr_t *pc, int n);

/* ,"suppression":"rule" — the rule that would silence the finding (fa_suppress_suggest). */
void fa_child_suggestion_json(struct fa_buf *b, const char *kind, const uintptr_t *pc, int n, const char *text);

typedef void fa_child_render_fn(struct fa_buf *b, const void *ctx);

/* Renders a record with render(b, ctx) into the mapped buffer `b`, which grows up to `cap`
 * bytes; lists stop in time (fa_child_list_full) so that what follows them fits too,
 * rendering again with more room kept for that when it did not. Returns 0 when the record
 * is whole in `b`, -1 when it cannot fit. */
int fa_child_record_render(struct fa_buf *b, size_t cap, fa_child_render_fn *render, const void *ctx);

/* fa_child_record_render() with FA_CHILD_RECORD_MAX, then one write(2). A record that
 * cannot fit (or no memory) is not written: the log never holds a torn line. */
void fa_child_record_write(fa_child_render_fn *render, const void *ctx);

/* After rendering one list entry from `mark`: 0 when it fits, else 1 with the entry taken
 * out again; the caller stops the list and counts what it left out. */
int fa_child_list_full(struct fa_buf *b, size_t mark);

#endif
