/* locks.c: the family-dependent answers of locks.h, generated from track/locks.def. */
#include "track/locks.h"

#include <stddef.h>

const char *fa_lock_type_name(unsigned type)
{
    switch ((enum fa_lock_type)type) {
    case FA_LOCK_NONE: return "lock";
#define FA_LOCK_FAMILY(ID, value, name, kind_bits, owner, relock_inherited, relock_own) \
    case FA_LOCK_##ID: return name;
#include "track/locks.def"
    }
    return "lock";
}

#define KIND_BITS_MUTEX 1
#define KIND_BITS_NONE 0

int fa_lock_has_mutex_kind(unsigned type)
{
    switch ((enum fa_lock_type)type) {
    case FA_LOCK_NONE: return 0;
#define FA_LOCK_FAMILY(ID, value, name, kind_bits, owner, relock_inherited, relock_own) \
    case FA_LOCK_##ID: return KIND_BITS_##kind_bits;
#include "track/locks.def"
    }
    return 0;
}

struct fa_lock_kind_desc fa_lock_describe_kind(unsigned type, unsigned kind)
{
    struct fa_lock_kind_desc d = {NULL, 0, 0};
    if (!fa_lock_has_mutex_kind(type)) return d;
    static const char *const types[] = {"normal", "recursive", "errorcheck", "adaptive"};
    d.mutex_type = types[kind & FA_MUTEX_KIND_TYPE_MASK];
    d.robust = (kind & FA_MUTEX_KIND_ROBUST) != 0;
    d.priority_inheritance = (kind & FA_MUTEX_KIND_PI) != 0;
    return d;
}

/* The relock rules of locks.def. */
#define RELOCK_BLOCKS 1
#define RELOCK_RETURNS 0 /* glibc returns EDEADLK, or lets it nest */
/* recursive: it just nests; errorcheck: glibc returns EDEADLK instead */
#define RELOCK_BY_KIND                                                  \
    ((kind & FA_MUTEX_KIND_TYPE_MASK) != FA_MUTEX_KIND_RECURSIVE &&     \
     (kind & FA_MUTEX_KIND_TYPE_MASK) != FA_MUTEX_KIND_ERRORCHECK)
#define RELOCK_UNLESS_BOTH_READ (for_write || !held_read)
#define RELOCK_AT_ZERO (value == 0)

int fa_lock_relock_blocks(unsigned type, int inherited, unsigned kind, int held_read, int for_write, int value)
{
    (void)kind, (void)held_read, (void)for_write, (void)value;
    switch ((enum fa_lock_type)type) {
    case FA_LOCK_NONE: return 0;
#define FA_LOCK_FAMILY(ID, value_, name, kind_bits, owner, relock_inherited, relock_own) \
    case FA_LOCK_##ID: return inherited ? RELOCK_##relock_inherited : RELOCK_##relock_own;
#include "track/locks.def"
    }
    return 0;
}
