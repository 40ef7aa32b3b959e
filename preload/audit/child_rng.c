/* child_rng.c: see child_rng.h. Fills the event and leaves judging and rendering to
 * findings/rng_reused.c. */
#include "audit/child_rng.h"

#include <errno.h>

#include "base/backtrace.h"
#include "base/options.h"
#include "findings/rng_reused.h"
#include "findings/rng_replay.h"
#include "track/threads.h"

void fa_child_rng_reused(enum fa_rng_family f, const char *fn, long long value, const void *call_site)
{
    struct fa_rng_state *s = &fa_rng[f];
    if (s->reported || fa_in_auditor) return;
    s->reported = 1;
    int saved = errno;
    fa_in_auditor++;
    uintptr_t pc[FA_MAX_FRAMES];
    struct fa_rng_reuse e = {.family = f, .state = s, .drawn_by = fn, .value = value, .pc = pc};
    fa_child_origin_now(&e.origin);
    e.parent_known = fa_rng_replay(f, s, s->draws_at_fork, fn, &e.parent_value);
    e.n = fa_backtrace(pc, fa_opts.stack_depth, call_site);
    fa_rng_reused_report(&e, &fa_opts);
    fa_in_auditor--;
    errno = saved;
}
