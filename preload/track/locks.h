/* locks.h: the lock families (track/locks.def) as C: their type ids, names, the mutex
 * kind bits, and the rules that depend on the family (owner checks, relocking in a
 * forked child). Every switch over a lock type here has no default: -Wswitch names the
 * case a new family forgot. */
#ifndef FA_LOCKS_H
#define FA_LOCKS_H

/* glibc's mutex kind (pthread_mutex_t.__data.__kind; mtx_t is one), as held entries keep
 * it: the type in the low bits, then flags. */
#define FA_MUTEX_KIND_TYPE_MASK 3u  /* PTHREAD_MUTEX_NORMAL, _RECURSIVE, _ERRORCHECK, _ADAPTIVE_NP */
#define FA_MUTEX_KIND_NORMAL 0u
#define FA_MUTEX_KIND_RECURSIVE 1u
#define FA_MUTEX_KIND_ERRORCHECK 2u
#define FA_MUTEX_KIND_ADAPTIVE 3u
#define FA_MUTEX_KIND_ROBUST 0x10u  /* PTHREAD_MUTEX_ROBUST_NORMAL_NP */
#define FA_MUTEX_KIND_PI 0x20u      /* PTHREAD_MUTEX_PRIO_INHERIT_NP */
#define FA_MUTEX_KIND_PP 0x40u      /* PTHREAD_MUTEX_PRIO_PROTECT_NP */
/* What a held entry keeps: all but glibc's process-shared bit (0x80). */
#define FA_MUTEX_KIND_MASK 0x7fu

enum fa_lock_type {
    FA_LOCK_NONE = 0,
#define FA_LOCK_FAMILY(ID, value, name, kind_bits, owner, relock_inherited, relock_own) FA_LOCK_##ID = (value),
#include "track/locks.def"
};

/* The name a report gives the type: "pthread_mutex", "pthread_rwlock", ... ("lock" for
 * none). */
const char *fa_lock_type_name(unsigned type);

/* 1 when the type's entries keep a mutex kind (FA_MUTEX_KIND_*). */
int fa_lock_has_mutex_kind(unsigned type);

/* What a report says of a lock's kind, the same for every family with mutex kind bits
 * (pthread_mutex and mtx alike). */
struct fa_lock_kind_desc {
    const char *mutex_type; /* "normal", "recursive", "errorcheck", "adaptive"; NULL: no kind bits */
    int robust;
    int priority_inheritance;
};
struct fa_lock_kind_desc fa_lock_describe_kind(unsigned type, unsigned kind);

/* Whether glibc checks the owner's tid to unlock or relock this lock (recursive,
 * error-checking, robust and priority-inheritance mutexes, whose lock word holds the
 * owner's tid for the kernel): a forked child, whose thread has another tid, can then
 * neither unlock nor take again what the forking thread held. Inline: pthread_mutex_unlock's
 * general path asks it. */
static inline int fa_mutex_kind_owner_checked(unsigned kind)
{
    unsigned t = kind & FA_MUTEX_KIND_TYPE_MASK;
    return t == FA_MUTEX_KIND_RECURSIVE || t == FA_MUTEX_KIND_ERRORCHECK ||
           (kind & (FA_MUTEX_KIND_ROBUST | FA_MUTEX_KIND_PI)) != 0;
}
#define FA_LOCK_OWNER_BY_KIND(kind) fa_mutex_kind_owner_checked(kind)
#define FA_LOCK_OWNER_NEVER(kind) ((void)(kind), 0)

static inline int fa_held_owner_checked(unsigned type, unsigned kind)
{
    switch ((enum fa_lock_type)type) {
    case FA_LOCK_NONE: return 0;
#define FA_LOCK_FAMILY(ID, value, name, kind_bits, owner, relock_inherited, relock_own) \
    case FA_LOCK_##ID: return FA_LOCK_OWNER_##owner(kind);
#include "track/locks.def"
    }
    return 0;
}

/* In a forked child, whether the calling thread, which holds the lock (`inherited`: its
 * copy of the forking thread held it at the fork), blocks forever taking it again.
 * `kind` is the lock's mutex kind, `held_read` whether it is held as a read lock,
 * `for_write` whether it is wanted exclusively, `value` a semaphore's value. */
int fa_lock_relock_blocks(unsigned type, int inherited, unsigned kind, int held_read, int for_write, int value);

#endif
