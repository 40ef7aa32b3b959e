/* findings.c: the findings stage. For a fork (or an exec) it drops what suppression rules
 * name, asks each kind for its records and their severity, counts the errors, and writes
 * each record with one write(2): the FORK kinds in kinds.def order, the fork note last.
 * Kinds only render (one file each, struct fa_finding); out/record.c writes. */
#include "findings/findings.h"

#include <string.h>

#include "base/process.h"
#include "base/python.h"
#include "findings/finding.h"
#include "out/record.h"
#include "out/suppress.h"

/* Each FORK and EXEC row's fa_finding_<id>; NULL for the kinds written elsewhere. */
#define FA_FINDING_OF_FORK(id) &fa_finding_##id
#define FA_FINDING_OF_EXEC(id) &fa_finding_##id
#define FA_FINDING_OF_CHILD(id) NULL
#define FA_FINDING_OF_DUMP(id) NULL
#define FA_FINDING_OF_EXIT(id) NULL
static const struct fa_finding *const finding_of[FA_KIND_COUNT] = {
#define FA_KIND(id, name, phase, level, title, help) [FA_KIND_##id] = FA_FINDING_OF_##phase(id),
#include "findings/kinds.def"
#undef FA_KIND
};

/* ---------------------------------------------------------------- shared by renderers */

const struct fa_snap_thread *fa_finding_thread(const struct fa_snapshot *s, pid_t tid)
{
    for (int i = 0; i < s->nthreads; i++)
        if (s->threads[i].tid == tid) return &s->threads[i];
    return NULL;
}

void fa_finding_fork_ref(struct fa_buf *b, const struct fa_snapshot *s)
{
    fa_puts(b, "fork #");
    fa_put_udec(b, s->seq);
    fa_puts(b, " (");
    if (s->child > 0) {
        fa_puts(b, "child ");
        fa_put_dec(b, s->child);
        fa_puts(b, ", ");
    }
    fa_puts(b, "via ");
    fa_puts(b, s->via);
    fa_putc(b, ')');
}

void fa_finding_truncated_note(struct fa_buf *b, const struct fa_snapshot *s, const char *indent, int n)
{
    if (n <= 0) return;
    fa_record_prefix(b, s->pid);
    fa_puts(b, indent);
    fa_puts(b, "... and ");
    fa_put_dec(b, n);
    fa_puts(b, " more not shown: the record reached its size limit\n");
}

void fa_finding_list_end(struct fa_buf *b, const struct fa_snapshot *s, const char *indent, int unshown,
                         unsigned long dropped, const char *option)
{
    fa_finding_truncated_note(b, s, indent, unshown);
    if (!dropped) return;
    fa_record_prefix(b, s->pid);
    fa_puts(b, indent);
    fa_puts(b, "... and ");
    fa_put_udec(b, dropped);
    fa_puts(b, " more (");
    fa_puts(b, option);
    fa_puts(b, ")\n");
}

void fa_finding_key_text(struct fa_finding_keys *k, const char *text)
{
    size_t n = strlen(text);
    if (n >= sizeof k->text_buf) n = sizeof k->text_buf - 1;
    memcpy(k->text_buf, text, n);
    k->text_buf[n] = 0;
    k->text = k->text_buf;
}

void fa_finding_py_stack_json(struct fa_buf *b, const struct fa_snapshot *s)
{
    struct fa_py_frame py[FA_MAX_FRAMES];
    fa_pystack_json(b, "python_stack", py, fa_finding_py_stack(s, 0, py, fa_opts.stack_depth));
}

const char *fa_finding_stdlib_dir(const struct fa_snapshot *s)
{
    return s->py->present && s->py->stdlib_dir[0] ? s->py->stdlib_dir : fa_python_stdlib_dir_kept();
}

int fa_finding_py_stack(const struct fa_snapshot *s, unsigned long self, struct fa_py_frame *f, int max)
{
    if (!s->py || !s->py->present) return 0;
    if (self == s->py->forking_self) self = 0;
    int n = fa_pyframes_parse(s->py_text, s->py->text_len, self, s->py->stdlib_dir, f, FA_MAX_FRAMES);
    return fa_pyframes_depth(f, n, max);
}

const char *fa_finding_py_thread_name(const struct fa_snapshot *s, unsigned long self)
{
    if (!s->py || !s->py->present || !self) return NULL;
    for (int i = 0; i < s->py->nnames && i < FA_PY_NAMES; i++)
        if (s->py->names[i].self == self && s->py->names[i].name[0]) return s->py->names[i].name;
    return NULL;
}

void fa_finding_fork_stack_text(struct fa_buf *b, const struct fa_snapshot *s)
{
    struct fa_py_frame py[FA_MAX_FRAMES];
    int npy = fa_finding_py_stack(s, 0, py, fa_opts.stack_depth);
    if (npy > 0) {
        fa_record_prefix(b, s->pid);
        fa_puts(b, "  fork called by thread ");
        fa_put_dec(b, s->tid);
        const char *name = fa_finding_py_thread_name(s, s->py->forking_self);
        if (name) {
            fa_puts(b, " \"");
            fa_puts(b, name);
            fa_putc(b, '"');
        }
        fa_puts(b, " at (Python, most recent call first; native frames in format=json):\n");
        fa_pystack_text(b, s->pid, NULL, "    ", py, npy);
        return;
    }
    fa_record_prefix(b, s->pid);
    fa_puts(b, "  fork called by thread ");
    fa_put_dec(b, s->tid);
    fa_puts(b, " at:\n");
    fa_record_frames_text(b, s->pid, s->stack.pc, s->stack.n, "    ");
}

/* ---------------------------------------------------------------- judging */

/* The finding of a kind written at a fork, other than the fork note; NULL for the others. */
static const struct fa_finding *fork_finding(int kind)
{
    if (kind == FA_KIND_FORK || fa_kind_phase((enum fa_kind)kind) != FA_PHASE_FORK) return NULL;
    return finding_of[kind];
}

/* Whether a rule of `kind` names this entry: its text, its key stacks, the fork's stack. */
static int suppressed(const char *kind, const struct fa_snapshot *s, const struct fa_finding_keys *k)
{
    if (k->text && fa_suppress_text(kind, k->text)) return 1;
    for (int i = 0; i < k->nstacks; i++)
        if (fa_suppress_frames(kind, k->pc[i], k->n[i])) return 1;
    return fa_suppress_frames(kind, s->stack.pc, s->stack.n);
}

/* Drops the entries of each kind of `phase` that a suppression rule names, counting them
 * in s->suppressed. */
static void apply_suppressions(struct fa_snapshot *s, enum fa_phase phase)
{
    if (!fa_suppress_any()) return;
    for (int kind = 0; kind < FA_KIND_COUNT; kind++) {
        const struct fa_finding *f = finding_of[kind];
        if (!f || !f->entries || fa_kind_phase((enum fa_kind)kind) != phase) continue;
        const char *name = fa_kind_name((enum fa_kind)kind);
        int n = f->entries(s), kept = 0;
        for (int i = 0; i < n; i++) {
            struct fa_finding_keys k;
            memset(&k, 0, sizeof k);
            f->keys(s, i, &k);
            if (suppressed(name, s, &k)) s->suppressed++;
            else if (kept++ != i) f->keep(s, kept - 1, i);
        }
        f->set_entries(s, kept);
    }
}

static enum fa_level level_of(enum fa_kind kind, const struct fa_snapshot *s, int index)
{
    const struct fa_finding *f = finding_of[kind];
    return f && f->level ? f->level(s, index) : fa_kind_level(kind);
}

/* The errors and warnings among the records a fork's findings would write. */
static void count_findings(const struct fa_snapshot *s, int *errors, int *warnings, int *records)
{
    *errors = *warnings = *records = 0;
    for (int kind = 0; kind < FA_KIND_COUNT; kind++) {
        const struct fa_finding *f = fork_finding(kind);
        if (!f) continue;
        int n = f->records(s);
        *records += n;
        for (int i = 0; i < n; i++) {
            enum fa_level l = level_of((enum fa_kind)kind, s, i);
            if (l == FA_LEVEL_ERROR) ++*errors;
            else if (l == FA_LEVEL_WARNING) ++*warnings;
        }
    }
}

/* ---------------------------------------------------------------- rendering */

static void render_record(struct fa_buf *b, const struct fa_finding_in *in)
{
    const struct fa_finding *f = finding_of[in->kind];
    const struct fa_snapshot *s = in->s;
    int json = in->o->format == FA_FORMAT_JSON;
    if (f->whole_record) {
        if (json) f->emit_json(b, in);
        else f->emit_text(b, in);
        return;
    }
    if (json) {
        struct fa_record_head h = {.kind = fa_kind_name(in->kind), .level = in->level, .pid = s->pid,
                                   .ppid = s->ppid, .tid = s->tid};
        /* An exec names the fork that made its process, as child records do, when one did. */
        if (fa_kind_phase(in->kind) == FA_PHASE_FORK || s->seq > 0) fa_record_head_fork(&h, s->seq, s->child, s->via);
        fa_record_json_head(b, &h);
        if (f->json_head) f->json_head(b, in);
        fa_puts(b, ",\"stack\":");
        fa_record_frames_json(b, s->stack.pc, s->stack.n);
        fa_finding_py_stack_json(b, s);
        f->emit_json(b, in);
        fa_puts(b, "}\n");
        return;
    }
    fa_record_text_title(b, s->pid, in->level, fa_kind_name(in->kind));
    f->emit_text(b, in);
    /* The fork's stack once per fork, in its first record (an exec's is in its own). */
    if (fa_kind_phase(in->kind) == FA_PHASE_FORK && !s->fork_stack_shown) fa_finding_fork_stack_text(b, s);
    fa_record_text_line(b, s->pid, "\n");
}

static void judge(struct fa_finding_in *in, const struct fa_snapshot *s, enum fa_kind kind, int index,
                  const struct fa_options *o)
{
    int records; /* not needed here */
    memset(in, 0, sizeof *in);
    in->s = s;
    in->o = o;
    in->kind = kind;
    in->index = index;
    in->level = level_of(kind, s, index);
    if (kind == FA_KIND_FORK) count_findings(s, &in->errors, &in->warnings, &records);
}

void fa_findings_render(struct fa_buf *b, const struct fa_snapshot *s, enum fa_kind kind, int index,
                        const struct fa_options *o)
{
    if (!finding_of[kind]) return;
    struct fa_finding_in in;
    judge(&in, s, kind, index, o);
    render_record(b, &in);
}

static void render_emit(struct fa_buf *b, void *ctx) { render_record(b, ctx); }

static void emit(struct fa_snapshot *s, enum fa_kind kind, int index, const struct fa_options *o)
{
    struct fa_finding_in in;
    judge(&in, s, kind, index, o);
    if (in.level == FA_LEVEL_ERROR) __atomic_add_fetch(&fa_proc.errors, 1, __ATOMIC_RELAXED);
    fa_record_write(s->render, s->render_len, render_emit, &in);
    s->fork_stack_shown = 1;
}

/* ---------------------------------------------------------------- entry points */

int fa_findings_fork_may_write(const struct fa_snapshot *s, const struct fa_options *o)
{
    if (o->verbosity >= 1 || fa_snapshot_overflowed(s)) return 1;
    for (int kind = 0; kind < FA_KIND_COUNT; kind++) {
        const struct fa_finding *f = fork_finding(kind);
        if (!f) continue;
        if ((f->entries ? f->entries(s) : f->records(s)) > 0) return 1;
    }
    return 0;
}

void fa_findings_fork(struct fa_snapshot *s, const struct fa_options *o)
{
    apply_suppressions(s, FA_PHASE_FORK);
    for (int kind = 0; kind < FA_KIND_COUNT; kind++) {
        const struct fa_finding *f = fork_finding(kind);
        if (f && f->judge) f->judge(s, o);
    }
    int errors, warnings, findings;
    count_findings(s, &errors, &warnings, &findings);
    for (int kind = 0; kind < FA_KIND_COUNT; kind++) {
        const struct fa_finding *f = fork_finding(kind);
        if (!f) continue;
        int n = f->records(s);
        for (int i = 0; i < n; i++) emit(s, (enum fa_kind)kind, i, o);
    }
    /* The note: in text it closes every fork with findings (its SUMMARY line); in JSON,
     * and for forks without findings, only when asked (verbosity) or to say a table
     * overflowed. */
    if ((findings > 0 && o->format == FA_FORMAT_TEXT) || o->verbosity >= 1 || fa_snapshot_overflowed(s))
        emit(s, FA_KIND_FORK, 0, o);
}

void fa_findings_exec(struct fa_snapshot *s, const struct fa_options *o)
{
    apply_suppressions(s, FA_PHASE_EXEC);
    for (int kind = 0; kind < FA_KIND_COUNT; kind++) {
        const struct fa_finding *f = finding_of[kind];
        if (!f || fa_kind_phase((enum fa_kind)kind) != FA_PHASE_EXEC) continue;
        int n = f->records(s);
        for (int i = 0; i < n; i++) emit(s, (enum fa_kind)kind, i, o);
    }
}

struct state_ctx {
    const struct fa_snapshot *s;
    const struct fa_lineage *lin;
    const struct fa_options *o;
};

static void render_state(struct fa_buf *b, void *ctx)
{
    const struct state_ctx *c = ctx;
    fa_findings_render_state(b, c->s, c->lin, c->o);
}

void fa_findings_state(struct fa_snapshot *s, const struct fa_options *o)
{
    struct fa_lineage lin = {fa_proc.forked_child, fa_proc.born_seq, fa_proc.born_tid, fa_proc.born_parent,
                             fa_proc.born_via, fa_proc.no_unwind};
    struct state_ctx c = {s, &lin, o};
    fa_record_write(s->render, s->render_len, render_state, &c);
}

struct note_ctx {
    struct fa_record_head head;
    const char *why;
    size_t bytes;
    const struct fa_options *o;
};

static void render_unavailable(struct fa_buf *b, void *ctx)
{
    const struct note_ctx *c = ctx;
    fa_finding_state_unavailable(b, &c->head, c->why, c->o);
}

void fa_findings_state_unavailable(const char *why, const struct fa_options *o)
{
    char line[512];
    struct note_ctx c = {.why = why, .o = o};
    fa_record_head_now(&c.head, fa_kind_name(FA_KIND_STATE), fa_kind_level(FA_KIND_STATE));
    fa_record_write(line, sizeof line, render_unavailable, &c);
}

static void render_unaudited(struct fa_buf *b, void *ctx)
{
    const struct note_ctx *c = ctx;
    fa_finding_unaudited(b, &c->head, c->bytes, c->o);
}

void fa_findings_unaudited(unsigned long seq, const char *via, size_t bytes, const struct fa_options *o)
{
    char line[512];
    struct note_ctx c = {.bytes = bytes, .o = o};
    fa_record_head_now(&c.head, fa_kind_name(FA_KIND_FORK), fa_kind_level(FA_KIND_FORK));
    fa_record_head_fork(&c.head, seq, 0, via);
    fa_record_write(line, sizeof line, render_unaudited, &c);
}
