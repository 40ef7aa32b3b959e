/* lockwrapper_names.h: which functions are lock wrappers, told by their names, and finding
 * them in the loaded modules (track/lockwrappers.h keeps their ranges). */
#ifndef FA_LOCKWRAPPER_NAMES_H
#define FA_LOCKWRAPPER_NAMES_H

#include <stddef.h>

/* Functions this large or larger are not taken for wrappers, whatever their names: a
 * wrapper takes the lock and returns. */
#define FA_LOCKWRAP_SIZE_MAX 512

/* 1 when the function `name` (as a symbol table spells it: mangled for C++) is named as
 * a lock acquisition: its last name component, cut into words at '_' and at case changes,
 * ends in lock, trylock, rdlock, wrlock or acquire (then maybe shared, exclusive, read,
 * write) after nothing or a lock's noun (mutex, spin, rwlock, try, reader...); or it is a
 * constructor of a class with the word lock or locker. std::mutex::lock, lock_shared,
 * std::lock_guard's and unique_lock's constructors, __gthread_mutex_lock, Mutex::Lock,
 * base::Lock::Acquire, g_rec_mutex_lock, spin_lock are; clock_gettime, Mutex::unlock,
 * worker_holds_table_lock (a function whose work is holding it) are not. */
int fa_lockwrap_name(const char *name);

/* Finds the lock wrappers of the program's own modules (not libc, libstdc++, the loader,
 * libunwind or this library) and publishes their ranges. Returns how many. */
int fa_lockwrappers_find(void);

#endif
