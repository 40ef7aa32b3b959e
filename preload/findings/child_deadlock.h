/* child_deadlock.h: the child-deadlock finding: a forked child (before exec) is about to
 * block on a lock that can never be released, or that it cannot take again. The check
 * (audit/childdeadlock.c) fills the event; this file judges it (suppressions, the error
 * count) and renders it. */
#ifndef FA_FINDINGS_CHILD_DEADLOCK_H
#define FA_FINDINGS_CHILD_DEADLOCK_H

#include "base/fmt.h"
#include "base/options.h"
#include "findings/child_record.h"
#include "out/pystack.h"
#include "track/heldlocks.h"

struct fa_child_deadlock {
    struct fa_child_origin origin;
    struct fa_held lock; /* the held entry: the lock and where it was acquired */
    pid_t holder;        /* the thread that held it at the fork (or took it since: own) */
    int own;             /* the calling thread holds it (or its copy of the forking thread does) */
    int timed;           /* a wait with a timeout: it comes back by itself */
    const uintptr_t *pc; /* where the child is taking it */
    int n;
    const char *py_text; /* this thread's Python stack (faulthandler's text), py_len bytes */
    size_t py_len;
    int has_py_site;     /* py_site: where the holder was in Python at the fork */
    struct fa_py_site py_site;
};

/* Appends the record (JSON or text, per o->format; the action per o->on_child_deadlock),
 * newline-terminated. */
void fa_child_deadlock_render(struct fa_buf *b, const struct fa_child_deadlock *e, const struct fa_options *o);
/* Writes the record and counts the error, unless a suppression matches where the lock was
 * acquired or where the child takes it: then returns 0 (no action either). */
int fa_child_deadlock_report(const struct fa_child_deadlock *e, const struct fa_options *o);

#endif
