/* progs.h: helpers shared by the small programs the integration tests audit. Each program
 * shows one hazard (or one clean control), prints the facts the test checks as "key=N"
 * lines on stdout, and synchronises its threads with barriers and pipes only. */
#ifndef PROGS_H
#define PROGS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void print_value(const char *key, long value) { dprintf(1, "%s=%ld\n", key, value); }
static inline long my_tid(void) { return syscall(SYS_gettid); }

/* fork; the child exits at once; the parent waits. Returns the child's pid. */
static inline pid_t fork_and_reap(void)
{
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, NULL, 0);
    return pid;
}

/* A one-shot "go" signal across threads. */
struct gate { int fd[2]; };
static inline void gate_init(struct gate *g) { if (pipe(g->fd) != 0) abort(); }
static inline void gate_open(struct gate *g) { if (write(g->fd[1], "x", 1) != 1) abort(); }
static inline void gate_wait(struct gate *g) { char c; if (read(g->fd[0], &c, 1) != 1) abort(); }

#endif
