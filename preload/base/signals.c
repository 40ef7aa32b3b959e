/* signals.c: see signals.h. */
#include "base/signals.h"

#include <string.h>

enum fa_signal_install fa_signal_install_over_default(int sig, void (*handler)(int, siginfo_t *, void *),
                                                      int flags, int unblocked, uintptr_t *restorer)
{
    struct sigaction old, sa;
    if (sigaction(sig, NULL, &old) != 0) return FA_SIGNAL_UNCATCHABLE;
    if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) return FA_SIGNAL_TAKEN;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigfillset(&sa.sa_mask);
    if (unblocked) sigdelset(&sa.sa_mask, unblocked);
    if (sigaction(sig, &sa, NULL) != 0) return FA_SIGNAL_FAILED;
    struct sigaction now;
    if (restorer && sigaction(sig, NULL, &now) == 0) *restorer = (uintptr_t)now.sa_restorer;
    return FA_SIGNAL_INSTALLED;
}
