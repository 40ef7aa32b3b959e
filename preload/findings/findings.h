/* findings.h: the findings stage's entry points — a fork's snapshot, an exec's and a state
 * dump's become records (text, sanitizer style, or JSON lines: ../shared/README.md), each
 * written with one write(2) through out/record.h. */
#ifndef FA_FINDINGS_H
#define FA_FINDINGS_H

#include <stddef.h>
#include <sys/types.h>

#include "audit/snapshot.h"
#include "base/fmt.h"
#include "base/options.h"
#include "findings/kinds.h"

/* Whether fa_findings_fork may write a record of this snapshot (a superset of its tests:
 * entries of a kind, full tables, verbosity). The auditor reads what only records show
 * (the parent's pid, the fork's stack) only then. */
int fa_findings_fork_may_write(const struct fa_snapshot *s, const struct fa_options *o);
/* Drops what suppression rules name, judges and counts (fa_proc.errors), and writes the
 * records of a fork: each FORK kind in kinds.def order, the fork note last. */
void fa_findings_fork(struct fa_snapshot *s, const struct fa_options *o);
/* The same for an exec audit: the fds-leaked-at-exec record (nothing when no fd leaks). */
void fa_findings_exec(struct fa_snapshot *s, const struct fa_options *o);
/* Writes the state record of a state dump (fa_audit_state). */
void fa_findings_state(struct fa_snapshot *s, const struct fa_options *o);
/* Writes a short state record that says why there is no dump this time (`why`). */
void fa_findings_state_unavailable(const char *why, const struct fa_options *o);
/* Writes a fork note saying that fork `seq` (made `via` ...) is not audited: the snapshot
 * of `bytes` bytes could not be mapped. */
void fa_findings_unaudited(unsigned long seq, const char *via, size_t bytes, const struct fa_options *o);

/* At exit: the note of which suppression rules matched and how often, when any did. */
void fa_findings_suppressions_used(const struct fa_options *o);

/* Renders record `index` of `kind` (a FORK or EXEC kind) into `b`, judged as
 * fa_findings_fork would, without writing it or suppressing (for tests). */
void fa_findings_render(struct fa_buf *b, const struct fa_snapshot *s, enum fa_kind kind, int index,
                        const struct fa_options *o);
/* What a state record says about the process's origin (fa_proc's forked_child, born_*,
 * no_unwind for the process that dumps). */
struct fa_lineage {
    int forked_child;      /* made by a fork under the auditor */
    unsigned long born_seq; /* its parent's fork number */
    pid_t born_tid;        /* the parent's forking thread */
    pid_t born_parent;     /* the parent process (0: unknown) */
    const char *born_via;  /* "fork", "atfork"; NULL: "fork" */
    int no_unwind;         /* a child of a multithreaded process: libunwind not used */
};
/* Renders the state record of snapshot `s` (for tests; fa_findings_state renders it with
 * this process's lineage). */
void fa_findings_render_state(struct fa_buf *b, const struct fa_snapshot *s, const struct fa_lineage *lin,
                              const struct fa_options *o);

#endif
