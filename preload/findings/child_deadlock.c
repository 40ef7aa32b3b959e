/* child_deadlock.c: see child_deadlock.h. */
#include "findings/child_deadlock.h"

#include "base/process.h"
#include "out/record.h"
#include "out/suppress.h"

#define KIND fa_kind_name(FA_KIND_CHILD_DEADLOCK)

static const char *action(const struct fa_child_deadlock *e, const struct fa_options *o)
{
    if (e->timed) return "report";
    return o->on_child_deadlock == FA_ACTION_ABORT ? "abort" : o->on_child_deadlock == FA_ACTION_EXIT ? "exit" : "report";
}

static int py_frames(const struct fa_child_deadlock *e, struct fa_py_frame *f, int max)
{
    int n = e->py_len ? fa_pyframes_parse(e->py_text, e->py_len, 0, NULL, f, FA_MAX_FRAMES) : 0;
    return fa_pyframes_depth(f, n, max);
}

static void py_site_json(struct fa_buf *b, const struct fa_child_deadlock *e)
{
    if (!e->has_py_site) return;
    if (e->py_site.kind[0]) {
        fa_puts(b, ",\"python\":{\"kind\":");
        fa_put_json_str(b, e->py_site.kind);
        if (e->py_site.name[0]) {
            fa_puts(b, ",\"name\":");
            fa_put_json_str(b, e->py_site.name);
        }
        fa_putc(b, '}');
    }
    if (e->py_site.file[0]) {
        fa_puts(b, ",\"holder_python_site\":{\"file\":");
        fa_put_json_str(b, e->py_site.file);
        fa_record_json_int(b, "line", e->py_site.line);
        fa_puts(b, ",\"function\":");
        fa_put_json_str(b, e->py_site.function);
        fa_putc(b, '}');
    }
    if (e->py_site.taken_file[0]) {
        fa_puts(b, ",\"python_acquired_at\":{\"file\":");
        fa_put_json_str(b, e->py_site.taken_file);
        fa_record_json_int(b, "line", e->py_site.taken_line);
        fa_puts(b, ",\"function\":");
        fa_put_json_str(b, e->py_site.taken_function);
        fa_putc(b, '}');
    }
}

static void render_json(struct fa_buf *b, const struct fa_child_deadlock *e, const struct fa_options *o)
{
    fa_child_record_head_json(b, FA_KIND_CHILD_DEADLOCK, &e->origin, e->pc, e->n);
    fa_puts(b, ",\"lock\":");
    fa_record_lock_json_open(b, &e->lock, e->holder, NULL, "holder_is_forking_thread", e->own, !e->own);
    py_site_json(b, e);
    fa_putc(b, '}');
    struct fa_py_frame py[FA_MAX_FRAMES];
    fa_pystack_json(b, "python_stack", py, py_frames(e, py, o->stack_depth));
    const char *name = e->has_py_site && e->py_site.name[0] ? e->py_site.name : NULL;
    fa_record_suggestion_json(b, KIND, name ? NULL : e->lock.frames, name ? 0 : e->lock.nframes, name);
    fa_puts(b, e->timed ? ",\"timed\":true" : ",\"timed\":false");
    fa_puts(b, ",\"action\":\"");
    fa_puts(b, action(e, o));
    fa_puts(b, "\"}\n");
}

static void render_text(struct fa_buf *b, const struct fa_child_deadlock *e, const struct fa_options *o)
{
    const struct fa_held *h = &e->lock;
    pid_t pid = e->origin.pid;
    fa_record_text_title(b, pid, fa_kind_level(FA_KIND_CHILD_DEADLOCK), KIND);
    fa_puts(b, "this child (forked by thread ");
    fa_put_dec(b, e->origin.born_tid);
    fa_puts(b, " of process ");
    fa_put_dec(b, e->origin.ppid);
    fa_puts(b, e->timed ? ") is about to wait, until its timeout, for " : ") is about to wait forever for ");
    const struct fa_py_site *site = e->has_py_site ? &e->py_site : NULL;
    if (site && site->kind[0]) {
        fa_puts(b, site->kind);
        if (site->name[0]) {
            fa_putc(b, ' ');
            fa_puts(b, site->name);
        }
        fa_puts(b, " (");
    }
    fa_puts(b, fa_lock_type_name(h->type));
    fa_putc(b, ' ');
    fa_put_hex(b, (uintptr_t)h->addr);
    if (site && site->kind[0]) fa_putc(b, ')');
    fa_putc(b, '\n');
    fa_record_prefix(b, pid);
    if (e->own && !(h->flags & FA_HELD_INHERITED)) {
        fa_puts(b, "  this thread took it after the fork and cannot take it again\n");
    } else if (e->own) {
        fa_puts(b, "  it was held at the fork by the forking thread ");
        fa_put_dec(b, e->holder);
        fa_puts(b, ", whose copy (this thread) still holds it and cannot take it again\n");
    } else {
        fa_puts(b, "  it was held at the fork by thread ");
        fa_put_dec(b, e->holder);
        fa_puts(b, ", which this child does not have: nobody will ever release it\n");
    }
    struct fa_py_frame py[FA_MAX_FRAMES];
    int npy = py_frames(e, py, o->stack_depth);
    if (site && site->taken_file[0]) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  taken in the parent at: File \"");
        fa_puts(b, site->taken_file);
        fa_puts(b, "\", line ");
        fa_put_dec(b, site->taken_line);
        fa_puts(b, ", in ");
        fa_puts(b, site->taken_function);
        fa_putc(b, '\n');
    }
    if (site && site->file[0]) {
        fa_record_prefix(b, pid);
        fa_puts(b, "  at the fork its holder was at: File \"");
        fa_puts(b, site->file);
        fa_puts(b, "\", line ");
        fa_put_dec(b, site->line);
        fa_puts(b, ", in ");
        fa_puts(b, site->function);
        fa_putc(b, '\n');
    } else {
        fa_record_prefix(b, pid);
        fa_puts(b, "  acquired by thread ");
        fa_put_dec(b, e->holder);
        fa_puts(b, " at:\n");
        uintptr_t one;
        fa_record_frames_text(b, pid, fa_record_held_frames(h->frames, h->nframes, &one), h->nframes, "    ");
        if (h->nframes == 1)
            fa_record_text_line(b, pid, "    (the call site only: lock_stack_depth=8 records deeper acquisition stacks)\n");
    }
    fa_record_prefix(b, pid);
    fa_puts(b, "  this child's thread ");
    fa_put_dec(b, e->origin.tid);
    if (npy > 0) {
        fa_puts(b, " is taking it at (Python, most recent call first; native frames in format=json):\n");
        fa_pystack_text(b, pid, NULL, "    ", py, npy);
    } else {
        fa_puts(b, " is taking it at:\n");
        fa_record_frames_text(b, pid, e->pc, e->n, "    ");
    }
    const char *name = site && site->name[0] ? site->name : NULL;
    fa_record_suggestion_text(b, pid, "  ", KIND, name ? NULL : h->frames, name ? 0 : h->nframes, name);
    fa_record_prefix(b, pid);
    fa_puts(b, e->timed ? "  a timed wait: the call proceeds and gives up at its timeout; on_child_deadlock does not end the child\n"
               : o->on_child_deadlock == FA_ACTION_REPORT
                   ? "  on_child_deadlock=report: the call proceeds (and blocks); on_child_deadlock=abort makes it a crash\n"
                   : "  on_child_deadlock: ending the child now\n");
}

void fa_child_deadlock_render(struct fa_buf *b, const struct fa_child_deadlock *e, const struct fa_options *o)
{
    if (o->format == FA_FORMAT_JSON) render_json(b, e, o);
    else render_text(b, e, o);
}

struct render_ctx {
    const struct fa_child_deadlock *e;
    const struct fa_options *o;
};

static void render_record(struct fa_buf *b, void *ctx)
{
    const struct render_ctx *c = ctx;
    fa_child_deadlock_render(b, c->e, c->o);
}

int fa_child_deadlock_report(const struct fa_child_deadlock *e, const struct fa_options *o)
{
    if (fa_suppress_frames(KIND, e->lock.frames, e->lock.nframes) || fa_suppress_frames(KIND, e->pc, e->n)) return 0;
    __atomic_add_fetch(&fa_proc.errors, 1, __ATOMIC_RELAXED);
    struct render_ctx c = {e, o};
    fa_record_write(NULL, 0, render_record, &c);
    return 1;
}
