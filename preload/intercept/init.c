/* init.c: the library's constructor and its public API. */
#include "intercept/init.h"

#include <dlfcn.h>

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../include/forkaudit.h"
#include "audit/lifecycle.h"
#include "base/backtrace.h"
#include "base/fa.h"
#include "out/log.h"
#include "base/options.h"
#include "base/process.h"
#include "base/procfs.h"
#include "out/suppress.h"
#include "findings/findings.h"
#include "intercept/real.h"
#include "audit/statedump.h"
#include "base/python.h"
#include "track/fdtrack.h"
#include "track/threads.h"
#include "audit/threadstacks.h"

static int init_state; /* 0 not started, 1 running, 2 done */

/* glibc's, without a header: with dso NULL the handler belongs to no library (not run by
 * our own __cxa_finalize). */
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

/* exitcode=N. Registered at start-up, before __libc_start_main registers the loader's
 * destructor pass, so it runs last of all exit handlers: after the program's atexit
 * handlers and every library's destructors. exit() called again from an exit handler
 * continues exit's own path (the handlers left, none; stdio flushed without taking stream
 * locks) and ends with N: the program's buffered output arrives (an _exit from our
 * destructor lost it, and skipped the destructors after ours). */
static void exit_with_exitcode(void *arg)
{
    (void)arg;
    if (fa_opts.exitcode && __atomic_load_n(&fa_proc.errors, __ATOMIC_RELAXED)) exit(fa_opts.exitcode);
}

/* FORKAUDIT_OPTIONS, even before libc has set environ: a fork from the program's
 * .preinit_array runs before libc's own initialiser, and initialises us then. The
 * environment the kernel gave the process is in /proc/self/environ (read into `b`). */
static const char *options_from_environment(struct fa_buf *b)
{
    const char *v = getenv("FORKAUDIT_OPTIONS");
    if (v || environ) return v;
    if (fa_proc_read("/proc/self/environ", b) != 0) return NULL;
    static const char key[] = "FORKAUDIT_OPTIONS=";
    for (const char *p = b->p; p < b->p + b->len; p += strlen(p) + 1)
        if (!strncmp(p, key, sizeof key - 1)) return p + sizeof key - 1;
    return NULL;
}

void fa_init(void)
{
    /* A plain load first: even a failing compare-and-swap is a write, and every fork
     * would take a copy-on-write fault on this page. */
    if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 0) return;
    int expect = 0;
    if (!__atomic_compare_exchange_n(&init_state, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
    /* Another copy of the library comes first in the lookup order: it audits the process,
     * and this one stays inert (the program's calls never reach it). */
    void *first = dlsym(RTLD_DEFAULT, "forkaudit_version");
    Dl_info theirs, mine; /* (our own &forkaudit_version would be the first copy's too) */
    if (first && dladdr(first, &theirs) && dladdr((void *)&fa_init, &mine) && theirs.dli_fbase != mine.dli_fbase) {
        __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
        return;
    }
    struct fa_buf env = {0};
    fa_options_parse(&fa_opts, options_from_environment(&env), fa_diag_stderr, NULL);
    if (env.mapped) fa_buf_release(&env);
    /* A set-user-ID program must not write or read files its caller names. */
    if (getauxval(AT_SECURE)) fa_options_drop_paths(&fa_opts, fa_diag_stderr, NULL);
    if (fa_opts.help) {
        char text[4096];
        fa_options_help(&fa_opts, text, sizeof text);
        fa_diag_stderr(text, NULL);
    }
    fa_fdtrack_scan_inherited(); /* before the log: what the process came with */
    fa_log_init(&fa_opts);
    if (fa_opts.exitcode) __cxa_atexit(exit_with_exitcode, NULL, NULL);
    if (fa_opts.suppressions[0]) fa_suppress_load(fa_opts.suppressions);
    fa_in_auditor++;
    fa_resolve_all();
    fa_threads_init();
    fa_thread_current(); /* the main thread */
    fa_backtrace_init();
    fa_python_look_up();
    fa_thread_stacks_warm(); /* the main thread */
    fa_in_auditor--;
    fa_pid_refresh();
    fa_fork_register_handlers(FA_REAL(__register_atfork));
    fa_state_dump_init(); /* last: the handler may run at once */
    __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void forkaudit_constructor(void) { fa_init(); }

/* At exit: which suppressions matched (the exit status option: exit_with_exitcode). */
__attribute__((destructor)) static void forkaudit_destructor(void)
{
    fa_findings_suppressions_used(&fa_opts);
    fa_log_at_exit(); /* records a full pipe or FIFO made us drop, when no note said them */
}

FA_EXPORT const char *forkaudit_version(void) { return FORKAUDIT_VERSION; }
