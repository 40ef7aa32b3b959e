/* kinds.c: kinds.def as tables, indexed by enum fa_kind. */
#include "findings/kinds.h"

static const char *const names[FA_KIND_COUNT] = {
#define FA_KIND(id, name, phase, level, title, help) [FA_KIND_##id] = (name),
#include "findings/kinds.def"
#undef FA_KIND
};

static const enum fa_phase phases[FA_KIND_COUNT] = {
#define FA_KIND(id, name, phase, level, title, help) [FA_KIND_##id] = FA_PHASE_##phase,
#include "findings/kinds.def"
#undef FA_KIND
};

static const char *const levels[FA_KIND_COUNT] = {
#define FA_KIND(id, name, phase, level, title, help) [FA_KIND_##id] = (level),
#include "findings/kinds.def"
#undef FA_KIND
};

const char *fa_kind_name(enum fa_kind kind) { return names[kind]; }
enum fa_phase fa_kind_phase(enum fa_kind kind) { return phases[kind]; }
enum fa_level fa_kind_level(enum fa_kind kind) { return FA_LEVEL_OF(levels[kind]); }
const char *fa_kind_level_name(enum fa_kind kind) { return levels[kind]; }
