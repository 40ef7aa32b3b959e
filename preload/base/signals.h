/* signals.h: installing the auditor's own signal handlers without taking a signal from
 * the program. */
#ifndef FA_SIGNALS_H
#define FA_SIGNALS_H

#include <signal.h>
#include <stdint.h>

enum fa_signal_install {
    FA_SIGNAL_INSTALLED = 0,
    FA_SIGNAL_TAKEN = 1,       /* the program handles or ignores it (SIG_IGN included: exec'd
                                * children inherit it): left alone */
    FA_SIGNAL_UNCATCHABLE = 2, /* its disposition cannot be read (not a signal number) */
    FA_SIGNAL_FAILED = 3,      /* sigaction refused the handler */
};

/* Installs `handler` (SA_SIGINFO | `flags`, every signal blocked while it runs but
 * `unblocked`, 0 for none) for `sig`, only when the disposition is SIG_DFL. Once it is
 * installed, *restorer (if not NULL) gets the signal-return trampoline the kernel pushes
 * under the handler's frame (sa_restorer, read back: libc sets it), which is no frame of
 * the interrupted thread; it is left as it is when it cannot be read. */
enum fa_signal_install fa_signal_install_over_default(int sig, void (*handler)(int, siginfo_t *, void *),
                                                      int flags, int unblocked, uintptr_t *restorer);

#endif
