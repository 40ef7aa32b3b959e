/* init.h: start-up of the library. */
#ifndef FA_INIT_H
#define FA_INIT_H

/* Reads the options, resolves real functions, registers our atfork handlers. Runs in our
 * constructor and, if another library's constructor forks first, from that fork. */
void fa_init(void);
/* Child side of a fork: remember the new pid. Async-signal-safe. */
void fa_init_after_fork_child(void);
/* 1 when the pid changed since start-up or the last fork handled by our handlers (a child
 * made by _Fork or a raw clone, which run no atfork handlers); the cached pid is updated. */
int fa_init_pid_changed(void);
/* Registers on_prepare/on_parent/on_child (interpose_fork.c). */
void fa_fork_register_handlers(void);
/* In a child made without our fork handlers (_Fork, raw clone): does their resets now.
 * Async-signal-safe (interpose_fork.c). */
void fa_fork_reset_if_new_process(void);

#endif
