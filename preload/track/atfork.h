/* atfork.h: other libraries' atfork prepare handlers, as seen by the interposed
 * __register_atfork (intercept/fork.c): each runs through trampoline k, which knows the
 * handler and the object that registered it, so reports can name them and the locks they
 * take count as protected. */
#ifndef FA_ATFORK_H
#define FA_ATFORK_H

#define FA_TRAMPOLINES 64

/* Slot k is free while its claim flag (atfork.c) is 0. A registration claims it, writes
 * fa_foreign_dso[k] (the registering object), then publishes fa_foreign_prepare[k]; the
 * unloading of that object (glibc then unregisters its handlers) clears them in the
 * reverse order, so a slot is never reused before it is whole again. */
extern void (*fa_foreign_prepare[FA_TRAMPOLINES])(void);
extern void *fa_foreign_dso[FA_TRAMPOLINES];
/* Other libraries' atfork prepare handlers registered past the trampolines. */
extern unsigned long fa_prepare_unwrapped;

/* The handler to register in place of `prepare` (registered by object `dso`): a
 * trampoline that runs it, or `prepare` itself when every trampoline is taken (counted in
 * fa_prepare_unwrapped). */
void (*fa_atfork_wrap_prepare(void (*prepare)(void), void *dso))(void);
/* After a dlclose: trampolines of objects that are gone are free again (glibc dropped
 * their handlers when it unloaded them). */
void fa_atfork_forget_unloaded(void);

#endif
