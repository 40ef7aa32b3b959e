/* child_record.c: see child_record.h. */
#include "findings/child_record.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "base/fa.h"
#include "base/process.h"
#include "findings/report.h"
#include "out/log.h"
#include "out/suppress.h"
#include "track/threads.h"

void fa_child_origin_now(struct fa_child_origin *o)
{
    o->pid = fa_getpid();
    o->ppid = (pid_t)syscall(SYS_getppid);
    o->tid = fa_self ? fa_self->tid : fa_gettid();
    o->born_tid = fa_proc.born_tid;
    o->seq = fa_proc.born_seq;
    o->via = fa_proc.born_via ? fa_proc.born_via : "fork";
}

static void key_int(struct fa_buf *b, const char *key, long long v)
{
    fa_puts(b, ",\"");
    fa_puts(b, key);
    fa_puts(b, "\":");
    fa_put_dec(b, v);
}

void fa_child_record_head_json(struct fa_buf *b, const char *kind, const char *severity,
                               const struct fa_child_origin *o, const uintptr_t *pc, int n)
{
    fa_puts(b, "{\"kind\":\"");
    fa_puts(b, kind);
    fa_puts(b, "\",\"severity\":\"");
    fa_puts(b, severity);
    fa_putc(b, '"');
    key_int(b, "pid", o->pid);
    key_int(b, "ppid", o->ppid);
    key_int(b, "tid", o->tid);
    fa_puts(b, ",\"fork\":{\"seq\":");
    fa_put_udec(b, o->seq);
    key_int(b, "child_pid", o->pid);
    fa_puts(b, ",\"via\":\"");
    fa_puts(b, o->via);
    fa_puts(b, "\"},\"stack\":");
    fa_render_frames_json(b, pc, n);
}

void fa_child_suggestion_json(struct fa_buf *b, const char *kind, const uintptr_t *pc, int n, const char *text)
{
    char rule[300];
    struct fa_buf rb;
    fa_buf_fixed(&rb, rule, sizeof rule);
    fa_suppress_suggest(&rb, kind, pc, n, text);
    fa_buf_terminate(&rb);
    fa_puts(b, ",\"suppression\":");
    fa_put_json_str(b, rule);
}

/* Room kept after a list for what follows it (counts, suggestion, the closing): first
 * TAIL_ROOM, four times more at each new try when that was not enough. */
#define TAIL_ROOM ((size_t)16 << 10)
/* Where lists stop during fa_child_record_render (per thread: two threads of a child may
 * report at once); 0 outside it: a list then only stops when the buffer is full. */
static FA_TLS size_t list_limit;

int fa_child_list_full(struct fa_buf *b, size_t mark)
{
    if (!b->truncated && (!list_limit || b->len <= list_limit)) return 0;
    b->len = mark;
    b->truncated = 0;
    return 1;
}

int fa_child_record_render(struct fa_buf *b, size_t cap, fa_child_render_fn *render, const void *ctx)
{
    b->limit = cap;
    for (size_t tail = TAIL_ROOM;; tail *= 4) {
        b->len = 0;
        b->truncated = 0;
        list_limit = tail < cap ? cap - tail : 1;
        render(b, ctx);
        list_limit = 0;
        if (!b->truncated && b->len) return 0;
        if (tail >= cap) return -1; /* even with every list empty it does not fit */
    }
}

void fa_child_record_write(fa_child_render_fn *render, const void *ctx)
{
    struct fa_buf b;
    if (fa_buf_mapped(&b, 1 << 16) != 0) return;
    if (fa_child_record_render(&b, FA_CHILD_RECORD_MAX, render, ctx) == 0) fa_log_write(b.p, b.len);
    fa_buf_release(&b);
}
