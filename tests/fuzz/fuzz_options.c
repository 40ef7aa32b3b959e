/* libFuzzer target for fa_options_parse (FORKAUDIT_OPTIONS) and fa_options_help.
 * Invariants checked on every input, beyond "no crash" (ASan/UBSan do that part):
 * - every integer option stays within its range (options.def), enums hold a named value,
 *   and the two path options stay NUL-terminated within their arrays;
 * - an option whose key does not occur in the input keeps its default;
 * - the parser writes nothing outside its struct (a heap block of exactly that size);
 * - each diagnostic is one line starting "forkaudit: " and naming an option
 *   ("option '...'"), without control characters (a '\r' or an escape sequence from the
 *   environment would rewrite the terminal line), one per problem counted;
 * - parsing is deterministic;
 * - secure execution (fa_options_drop_paths) leaves no option that names a file, changes
 *   nothing else, says so in exactly one line when it dropped something, and a second
 *   pass finds nothing more;
 * - fa_options_help stays within its buffer (exactly its capacity) and terminates it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fa.h"
#include "base/options.h"

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_options: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

struct diags {
    int count;
};

static void check_diag(const char *line, void *ctx)
{
    struct diags *d = ctx;
    d->count++;
    CHECK(strncmp(line, "forkaudit: ", 11) == 0);
    for (const char *c = line; *c; c++) CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
    CHECK(strlen(line) < 512);
    CHECK(strstr(line, "option '") != NULL);
}

static void check_secure_diag(const char *line, void *ctx)
{
    ++*(int *)ctx;
    CHECK(strncmp(line, "forkaudit: secure execution", 27) == 0);
    for (const char *c = line; *c; c++) CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void check_drop_paths(const struct fa_options *o)
{
    struct fa_options *s = malloc(sizeof *s);
    memcpy(s, o, sizeof *s);
    int said = 0;
    int dropped = fa_options_drop_paths(s, check_secure_diag, &said);
    CHECK(dropped >= 0 && dropped <= 2 && said == (dropped > 0));
    CHECK(strcmp(s->log_path, "stderr") == 0 || strcmp(s->log_path, "stdout") == 0);
    CHECK(s->suppressions[0] == 0);
    struct fa_options rest = *o; /* everything but the two paths is unchanged */
    memcpy(rest.log_path, s->log_path, sizeof rest.log_path);
    memcpy(rest.suppressions, s->suppressions, sizeof rest.suppressions);
    CHECK(memcmp(&rest, s, sizeof rest) == 0);
    CHECK(fa_options_drop_paths(s, check_secure_diag, &said) == 0);
    free(s);
}

/* An int option: its key, where it is, its range (from the registry, options.def). */
struct int_option {
    const char *key;
    size_t offset;
    int min, max;
    int is_int; /* the other types are checked one by one below */
};
#define IS_INT_INT 1
#define IS_INT_SIGNAL 1
#define IS_INT_ARG 0 /* changed through its choice, not by its own key */
#define IS_INT_OUTPUT 0
#define IS_INT_PATH 0
#define IS_INT_FORMAT 0
#define IS_INT_ACTION 0
#define IS_INT_FDS 0
#define INT_OPTION(type, name, dflt, lo, hi, values, help) {#name, offsetof(struct fa_options, name), lo, hi, IS_INT_##type},
static const struct int_option int_options[] = {FA_OPTIONS(INT_OPTION)};

static int field(const struct fa_options *o, size_t offset)
{
    int v;
    memcpy(&v, (const char *)o + offset, sizeof v);
    return v;
}

static void check_options(const struct fa_options *o, const char *spec)
{
    const struct fa_options dflt = FA_OPTIONS_INITIALIZER;
    for (size_t i = 0; i < sizeof int_options / sizeof int_options[0]; i++) {
        const struct int_option *io = &int_options[i];
        if (!io->is_int) continue;
        int v = field(o, io->offset);
        CHECK(v >= io->min && v <= io->max);
        if (!strstr(spec, io->key)) CHECK(v == field(&dflt, io->offset));
    }
    CHECK(o->format == FA_FORMAT_TEXT || o->format == FA_FORMAT_JSON);
    CHECK(o->on_child_deadlock == FA_ACTION_REPORT || o->on_child_deadlock == FA_ACTION_ABORT ||
          o->on_child_deadlock == FA_ACTION_EXIT);
    CHECK(o->child_deadlock_exit >= 0 && o->child_deadlock_exit <= 255);
    CHECK(o->on_child_stuck == FA_ACTION_REPORT || o->on_child_stuck == FA_ACTION_ABORT);
    CHECK(memchr(o->log_path, 0, sizeof o->log_path) != NULL && o->log_path[0] != 0);
    CHECK(memchr(o->suppressions, 0, sizeof o->suppressions) != NULL);
    if (!strstr(spec, "log_path")) CHECK(strcmp(o->log_path, dflt.log_path) == 0);
    if (!strstr(spec, "suppressions")) CHECK(o->suppressions[0] == 0);
    if (!strstr(spec, "on_child_deadlock")) CHECK(o->on_child_deadlock == dflt.on_child_deadlock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    memcpy(spec, data, size);
    spec[size] = 0;

    /* Exactly the struct's size on the heap: ASan reports any write past it. */
    const struct fa_options defaults = FA_OPTIONS_INITIALIZER;
    struct fa_options *o = malloc(sizeof *o), *again = malloc(sizeof *again);
    *o = defaults;
    *again = defaults;
    struct diags d = {0}, d2 = {0};
    int problems = fa_options_parse(o, spec, check_diag, &d);
    CHECK(problems >= 0 && problems == d.count);
    check_options(o, spec);

    CHECK(fa_options_parse(again, spec, check_diag, &d2) == problems);
    CHECK(memcmp(o, again, sizeof *o) == 0);
    CHECK(fa_options_parse(again, spec, NULL, NULL) == problems); /* no callback: fine too */
    check_drop_paths(o);

    /* Help text into a buffer of a capacity the input chooses (truncation included). */
    size_t cap = size ? 1 + data[0] * 16u : 1;
    char *help = malloc(cap);
    size_t len = fa_options_help(o, help, cap);
    CHECK(len < cap && help[len] == 0 && strlen(help) == len);

    free(help);
    free(again);
    free(o);
    free(spec);
    return 0;
}
