/* child_record.h: what the records a forked child writes about its inheritance share
 * (rng-reused-in-child, child-deadlock, child-stuck): the fork that made the child, which
 * every child event carries, and the JSON head built from it. Like every record they are
 * written through out/record.h (one write(2), the 4 MiB cap, lists cut with a count).
 * Async-signal-safe: these records are written between fork and exec, and from the
 * watchdog's signal handler. */
#ifndef FA_CHILD_RECORD_H
#define FA_CHILD_RECORD_H

#include <stdint.h>
#include <sys/types.h>

#include "base/fmt.h"
#include "findings/kinds.h"

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

/* The record head of `kind` (its kinds.def severity) with the fork that made the child,
 * then ,"stack":[…] — the record left open for its own members. */
void fa_child_record_head_json(struct fa_buf *b, enum fa_kind kind, const struct fa_child_origin *o,
                               const uintptr_t *pc, int n);

#endif
