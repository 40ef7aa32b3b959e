/* atfork.h: other libraries' atfork prepare handlers, as seen by the interposed
 * __register_atfork (interpose_fork.c): each runs through trampoline k, which knows the
 * handler and the object that registered it, so reports can name them. */
#ifndef FA_ATFORK_H
#define FA_ATFORK_H

#define FA_TRAMPOLINES 64

/* Slot k is free while fa_foreign_prepare[k] is NULL; fa_foreign_dso[k] is the registering
 * object, whose unloading (glibc then unregisters its handlers) frees the slot. */
extern void (*fa_foreign_prepare[FA_TRAMPOLINES])(void);
extern void *fa_foreign_dso[FA_TRAMPOLINES];

#endif
