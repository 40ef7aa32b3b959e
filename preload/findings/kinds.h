/* kinds.h: the kind registry (kinds.def) as C — enum fa_kind, each kind's name, phase and
 * default severity. A kind is added by one kinds.def row and, for the kinds written at a
 * fork or an exec, one findings file that defines fa_finding_<id> (finding.h). */
#ifndef FA_KINDS_H
#define FA_KINDS_H

#include "out/record.h"

enum fa_kind {
#define FA_KIND(id, name, phase, level, title, help) FA_KIND_##id,
#include "findings/kinds.def"
#undef FA_KIND
    FA_KIND_COUNT
};

/* When a kind's records are written (kinds.def's phase column). */
enum fa_phase {
    FA_PHASE_FORK,  /* by the parent just after a fork */
    FA_PHASE_EXEC,  /* before an exec or posix_spawn */
    FA_PHASE_CHILD, /* by a forked child, about what it inherited */
    FA_PHASE_DUMP,  /* on dump_signal */
    FA_PHASE_EXIT,  /* at exit */
};

/* The record's "kind", e.g. "lock-held-at-fork". */
const char *fa_kind_name(enum fa_kind kind);
enum fa_phase fa_kind_phase(enum fa_kind kind);
/* The kind's default severity (a finding may lower it: see struct fa_finding's level). */
enum fa_level fa_kind_level(enum fa_kind kind);
/* The kinds.def level string as written ("error", "warning", "note"), for tests. */
const char *fa_kind_level_name(enum fa_kind kind);

#endif
