/* child_record.c: see child_record.h. */
#include "findings/child_record.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "base/fa.h"
#include "base/process.h"
#include "out/record.h"
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

void fa_child_record_head_json(struct fa_buf *b, enum fa_kind kind, const struct fa_child_origin *o,
                               const uintptr_t *pc, int n)
{
    struct fa_record_head h = {.kind = fa_kind_name(kind), .level = fa_kind_level(kind),
                               .pid = o->pid, .ppid = o->ppid, .tid = o->tid};
    fa_record_head_fork(&h, o->seq, o->pid, o->via);
    fa_record_json_head(b, &h);
    fa_puts(b, ",\"stack\":");
    fa_record_frames_json(b, pc, n);
}
