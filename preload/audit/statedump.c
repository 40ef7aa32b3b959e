/* statedump.c: see statedump.h. The handler runs in whatever thread the kernel picks and
 * may interrupt anything, malloc and the auditor included: it uses only system calls, the
 * process's snapshot arena (taken with a compare-and-swap, never waited for) and mmap'd
 * buffers. When the arena is busy (a fork audit or another dump in progress) or the
 * interrupted thread is inside the auditor, it writes a short record saying so instead:
 * sending the signal again later gives the dump. */
#include "audit/statedump.h"

#include <errno.h>
#include <signal.h>

#include "audit/audit.h"
#include "audit/lifecycle.h"
#include "base/fmt.h"
#include "base/signals.h"
#include "out/log.h"
#include "base/options.h"
#include "findings/findings.h"
#include "track/threads.h"
#include "audit/threadstacks.h"

static uintptr_t restorer; /* the signal-return trampoline: not a frame of the thread */

static void on_dump_signal(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)info;
    (void)uc;
    int saved = errno;
    /* In a child made without our fork handlers (_Fork, a raw clone) the snapshot arena
     * and the symbolizer's memory are not mapped (MADV_DONTFORK): reset first. */
    fa_fork_reset_if_new_process();
    if (fa_in_auditor > 0) {
        fa_in_auditor++;
        fa_findings_state_unavailable("the signal interrupted forkaudit's own code in this thread; send it again",
                                      &fa_opts);
        fa_in_auditor--;
        errno = saved;
        return;
    }
    int unwind = fa_thread_stacks_may_unwind_here();
    fa_in_auditor++;
    int busy = 0;
    struct fa_snapshot *s = fa_audit_state(unwind, restorer, &busy);
    if (s) {
        fa_findings_state(s, &fa_opts);
        fa_audit_discard(s);
    } else {
        fa_findings_state_unavailable(busy ? "a fork audit or another state dump is in progress; send it again"
                                           : "no memory for the snapshot",
                                      &fa_opts);
    }
    fa_in_auditor--;
    errno = saved;
}

void fa_state_dump_init(void)
{
    int sig = fa_opts.dump_signal;
    if (sig == 0) return;
    char line[200];
    struct fa_buf b;
    fa_buf_fixed(&b, line, sizeof line);
    const char *why = NULL;
    if (sig == fa_stacks_signal(&fa_opts)) why = "it is also the stacks signal (stack_signal, or 61 with child_watchdog)";
    else if (sig == SIGKILL || sig == SIGSTOP) why = "it cannot be caught";
    else /* not SA_ONSTACK: unwinding needs the thread's own stack */
        switch (fa_signal_install_over_default(sig, on_dump_signal, SA_RESTART, 0, &restorer)) {
        case FA_SIGNAL_INSTALLED: break;
        case FA_SIGNAL_TAKEN: why = "the program already handles or ignores it"; break;
        case FA_SIGNAL_UNCATCHABLE: why = "it cannot be caught"; break;
        case FA_SIGNAL_FAILED: why = "sigaction failed"; break;
        }
    if (why) {
        fa_puts(&b, "forkaudit: dump_signal=");
        fa_put_dec(&b, sig);
        fa_puts(&b, " is off: ");
        fa_puts(&b, why);
        fa_buf_terminate(&b);
        fa_diag_stderr(line, NULL);
        fa_opts.dump_signal = 0;
    }
}
