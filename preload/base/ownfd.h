/* ownfd.h: the auditor's short-lived descriptors (/proc/self/task, /proc/self/fd, comm
 * and status files, object files it symbolizes, memfds), opened and closed through here
 * so that another thread's fork never hands one of them to its child (issue 14, item 3).
 *
 * Every such descriptor is in a fixed table from before its open returns until after its
 * close. Opening and closing are fenced against forks (a Dekker-style handshake on two
 * counters): a forking thread announces its fork and waits for the open or close in
 * progress elsewhere to end, an opening thread that sees a fork announced waits for it to
 * end before it opens. So at the moment of the fork the table holds exactly the
 * auditor's descriptors the child inherits, and the child closes them. Both waits are
 * bounded (a thread stopped in the middle of an open cannot hang a fork); async-signal-safe
 * (atomics, system calls). */
#ifndef FA_OWNFD_H
#define FA_OWNFD_H

/* openat(2) / memfd_create(2) with the descriptor recorded; close with fa_ownfd_close. */
long fa_ownfd_openat(int dir, const char *path, int flags);
long fa_ownfd_memfd(const char *name, unsigned flags);
void fa_ownfd_close(long fd);

/* A descriptor the auditor keeps (its log) is set up inside a section fenced the same
 * way: no fork happens between its open and the moment it is known as the auditor's (the
 * child then closes it itself), and another thread's listing meanwhile leaves out the
 * number given with fa_ownfd_section_fd. begin returns the section's slot (-1: none);
 * with `wait` 0 it does not wait for another thread's fork to end (inside libunwind,
 * perhaps under its lock or in a signal handler: the section is a few system calls, and
 * the forking thread waits for it instead). */
int fa_ownfd_section_begin(int wait);
void fa_ownfd_section_fd(int slot, long fd);
void fa_ownfd_section_end(int slot);

/* 1 when `fd` is one of these, open right now in another thread's (or this one's) hands:
 * the fork audit leaves it out of fds-at-fork. Waits (bounded) for an open in progress,
 * whose number is not known yet. */
int fa_ownfd_is_open(int fd);
/* Counts every close of one of these (after its slot is freed): a listing that saw a
 * number, asked fa_ownfd_is_open, and finds this count unchanged since before it looked
 * knows the answer held for the descriptor it saw (not for one closed meanwhile). */
unsigned long fa_ownfd_closes(void);

/* How many of them have numbers above `fd`, `except` not counted (the count of unlisted
 * descriptors, where the listing's own directory is counted apart). */
int fa_ownfd_count_above(int fd, int except);

/* The forking thread, just before the real fork (after its own audit); then in the parent
 * after it, and in the child, whose copy closes every descriptor other threads had open. */
void fa_ownfd_fork_begin(void);
void fa_ownfd_fork_end(void);
void fa_ownfd_after_fork_child(void);

#endif
