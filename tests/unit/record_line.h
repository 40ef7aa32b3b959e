/* record_line.h: a unit test's check that a rendered record is one line of valid JSON. */
#ifndef FA_TEST_RECORD_LINE_H
#define FA_TEST_RECORD_LINE_H

#include <jansson.h>
#include <string.h>

#include "unit.h"

/* The record `line` parsed (fails the test unless it is exactly one '\n'-terminated line
 * holding one JSON value). */
static inline json_t *fa_test_record_line(const char *line)
{
    size_t len = strlen(line);
    assert_true(len > 0 && line[len - 1] == '\n');
    assert_null(memchr(line, '\n', len - 1));
    json_error_t err;
    json_t *v = json_loads(line, 0, &err);
    if (!v) fail_msg("invalid JSON (%s): %.300s", err.text, line);
    return v;
}

#endif
