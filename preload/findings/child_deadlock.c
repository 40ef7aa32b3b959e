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

static void render_json(struct fa_buf *b, const struct fa_child_deadlock *e, const struct fa_options *o)
{
    fa_child_record_head_json(b, FA_KIND_CHILD_DEADLOCK, &e->origin, e->pc, e->n);
    fa_puts(b, ",\"lock\":");
    fa_record_lock_json_open(b, &e->lock, e->holder, NULL, "holder_is_forking_thread", e->own, !e->own);
    fa_putc(b, '}');
    fa_record_suggestion_json(b, KIND, e->lock.frames, e->lock.nframes, NULL);
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
    fa_puts(b, fa_lock_type_name(h->type));
    fa_putc(b, ' ');
    fa_put_hex(b, (uintptr_t)h->addr);
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
    fa_record_prefix(b, pid);
    fa_puts(b, "  acquired by thread ");
    fa_put_dec(b, e->holder);
    fa_puts(b, " at:\n");
    uintptr_t one;
    fa_record_frames_text(b, pid, fa_record_held_frames(h->frames, h->nframes, &one), h->nframes, "    ");
    if (h->nframes == 1)
        fa_record_text_line(b, pid, "    (the call site only: lock_stack_depth=8 records deeper acquisition stacks)\n");
    fa_record_prefix(b, pid);
    fa_puts(b, "  this child's thread ");
    fa_put_dec(b, e->origin.tid);
    fa_puts(b, " is taking it at:\n");
    fa_record_frames_text(b, pid, e->pc, e->n, "    ");
    fa_record_suggestion_text(b, pid, "  ", KIND, h->frames, h->nframes, NULL);
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
