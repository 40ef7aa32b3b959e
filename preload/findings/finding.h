/* finding.h: what a kind written at a fork or an exec provides to the findings stage
 * (findings.c), and the pieces its renderers share. One file per kind defines its
 * `const struct fa_finding fa_finding_<id>` (<id> as in kinds.def): the loop in
 * findings.c finds it by the kind's row, and a FORK or EXEC row without one does not link.
 *
 * A kind only renders: findings.c drops what suppression rules name (from the keys a kind
 * gives), asks each finding's severity, counts the errors and writes each record through
 * out/record.h. */
#ifndef FA_FINDING_H
#define FA_FINDING_H

#include <stddef.h>
#include <stdint.h>

#include "audit/snapshot.h"
#include "base/fmt.h"
#include "base/options.h"
#include "findings/kinds.h"
#include "out/pystack.h"
#include "out/record.h"

/* What one record is rendered from. */
struct fa_finding_in {
    const struct fa_snapshot *s;
    const struct fa_options *o;
    enum fa_kind kind;
    int index;            /* which record of the kind (a lock, a generator); 0 for list kinds */
    enum fa_level level;  /* its severity, as the kind judged it */
    int errors, warnings; /* the fork note only: this fork's findings, by severity */
};

/* What suppression rules of a kind are matched against for one entry (a lock, a thread,
 * a descriptor, a generator): a text (a target, a start routine's name; NULL when none),
 * matched first, then its key stacks in order. The fork's own stack is a key stack of
 * every finding of the fork: findings.c adds it. */
#define FA_FINDING_KEY_STACKS 3
struct fa_finding_keys {
    const char *text;
    int nstacks;
    const uintptr_t *pc[FA_FINDING_KEY_STACKS];
    int n[FA_FINDING_KEY_STACKS];
    char text_buf[128]; /* storage for `text` when it is made (a routine's name) */
};

struct fa_finding {
    /* Entries of the snapshot the kind judges, for suppression (NULL: none to suppress):
     * how many, the keys of entry i, and how to keep only some (keep(s, to, from) moves
     * entry `from` to `to` <= from; then set_entries(s, kept)). */
    int (*entries)(const struct fa_snapshot *s);
    void (*keys)(const struct fa_snapshot *s, int i, struct fa_finding_keys *k);
    void (*keep)(struct fa_snapshot *s, int to, int from);
    void (*set_entries)(struct fa_snapshot *s, int n);
    /* After suppressions, before counting: leaves out what is no hazard for the reader
     * (shared by design), counting it for the note; NULL: everything stays. */
    void (*judge)(struct fa_snapshot *s, const struct fa_options *o);
    /* How many records the kind writes for the snapshot: one per entry, or one for all. */
    int (*records)(const struct fa_snapshot *s);
    /* The severity of record `index`; NULL: the kind's default from kinds.def. */
    enum fa_level (*level)(const struct fa_snapshot *s, int index);
    /* JSON: members written between the head (fork) and the stack ("exec"), may be NULL;
     * then the members after the stack. Text: what follows the record's title
     * ("==PID== forkaudit: WARNING: KIND: "); the loop adds the fork's stack (once per
     * fork, for FORK kinds) and the closing empty line. */
    void (*json_head)(struct fa_buf *b, const struct fa_finding_in *in);
    void (*emit_json)(struct fa_buf *b, const struct fa_finding_in *in);
    void (*emit_text)(struct fa_buf *b, const struct fa_finding_in *in);
    /* 1: emit_json and emit_text write the whole record themselves (the fork note). */
    int whole_record;
    /* The fork note's part for a FORK kind, each may be NULL (fork_note.c calls them in
     * kinds.def order): whether the kind's part of the snapshot left something out (a full
     * table: the note is then always written, to say so), and its counters in the note,
     * JSON members (",\"KEY\":N") and text (" (N what)"), written only when not zero. */
    int (*overflowed)(const struct fa_snapshot *s);
    void (*note_json)(struct fa_buf *b, const struct fa_snapshot *s);
    void (*note_text)(struct fa_buf *b, const struct fa_snapshot *s);
};

/* fa_finding_<id> for every FORK and EXEC row of kinds.def. */
#define FA_FINDING_DECL_FORK(id) extern const struct fa_finding fa_finding_##id;
#define FA_FINDING_DECL_EXEC(id) extern const struct fa_finding fa_finding_##id;
#define FA_FINDING_DECL_CHILD(id)
#define FA_FINDING_DECL_DUMP(id)
#define FA_FINDING_DECL_EXIT(id)
#define FA_KIND(id, name, phase, level, title, help) FA_FINDING_DECL_##phase(id)
#include "findings/kinds.def"
#undef FA_KIND

/* ---------------------------------------------------------------- shared by renderers */

/* The thread of the snapshot with this tid, NULL when it is not listed. */
const struct fa_snap_thread *fa_finding_thread(const struct fa_snapshot *s, pid_t tid);
/* "fork #N (child C, via V)" */
void fa_finding_fork_ref(struct fa_buf *b, const struct fa_snapshot *s);
/* "==PID== INDENT... and N more not shown: the record reached its size limit" (N > 0). */
void fa_finding_truncated_note(struct fa_buf *b, const struct fa_snapshot *s, const char *indent, int n);
/* The end of a text list: fa_finding_truncated_note for the `unshown` entries the size limit
 * cut, then "... and D more (OPTION)" for the `dropped` ones over the option's limit. */
void fa_finding_list_end(struct fa_buf *b, const struct fa_snapshot *s, const char *indent, int unshown,
                         unsigned long dropped, const char *option);
/* The standard library's directory for deciding which Python frames are the program's own. */
const char *fa_finding_stdlib_dir(const struct fa_snapshot *s);
/* The Python stack at the fork of the thread whose pthread_t is `self` (the forking
 * thread's for 0), innermost first, into f (FA_MAX_FRAMES entries): `max` frames, or more
 * down to the program's own innermost frame (fa_pyframes_depth); 0 when the process runs
 * no Python, the fork was not captured from Python, or the thread has no frame. */
int fa_finding_py_stack(const struct fa_snapshot *s, unsigned long self, struct fa_py_frame *f, int max);
/* Sets k->text to a copy of `text` (cut to k->text_buf). */
void fa_finding_key_text(struct fa_finding_keys *k, const char *text);
/* ,"python_stack":[..] of the forking thread, when it forked from Python. */
void fa_finding_py_stack_json(struct fa_buf *b, const struct fa_snapshot *s);
/* threading's name of the thread whose pthread_t is `self`, NULL when unknown. */
const char *fa_finding_py_thread_name(const struct fa_snapshot *s, unsigned long self);
/* The fork's own stack: "fork called by thread T at:" and its frames (its Python frames
 * instead of the interpreter's C frames when it forked from Python). */
void fa_finding_fork_stack_text(struct fa_buf *b, const struct fa_snapshot *s);
/* The notes written without a snapshot, after `h` (kind, severity, pid, ppid, tid; the
 * unaudited fork's seq and via): no state dump this time, and why (state.c); a fork not
 * audited for want of `bytes` of memory (fork_note.c). */
void fa_finding_state_unavailable(struct fa_buf *b, const struct fa_record_head *h, const char *why,
                                  const struct fa_options *o);
void fa_finding_unaudited(struct fa_buf *b, const struct fa_record_head *h, size_t bytes, const struct fa_options *o);
/* Whether the snapshot left something out (a full table, an unwrapped handler; a kind's
 * own `overflowed`): the fork note is then always written, to say so (fork_note.c). */
int fa_snapshot_overflowed(const struct fa_snapshot *s);

#endif
