/* atfork.h: other libraries' atfork prepare handlers, as seen by the interposed
 * __register_atfork (interpose_fork.c): each runs through trampoline k, which knows the
 * handler and the object that registered it, so reports can name them. */
#ifndef FA_ATFORK_H
#define FA_ATFORK_H

#define FA_TRAMPOLINES 64

/* Slot k is free while fa_foreign_claimed[k] is 0. A registration claims it, writes
 * fa_foreign_dso[k] (the registering object), then publishes fa_foreign_prepare[k]; the
 * unloading of that object (glibc then unregisters its handlers) clears them in the
 * reverse order, so a slot is never reused before it is whole again. */
extern void (*fa_foreign_prepare[FA_TRAMPOLINES])(void);
extern void *fa_foreign_dso[FA_TRAMPOLINES];
extern int fa_foreign_claimed[FA_TRAMPOLINES];

#endif
