/* Unit tests of the record formatting primitives: JSON escaping of odd paths and names
 * (checked by parsing the result with jansson), numbers, truncation, growth. */
#include "unit.h"

#include <jansson.h>

#include "base/fmt.h"

/* Escapes `s`, parses the JSON string back, and returns 1 when it equals `expect`. */
static int round_trips(const char *s, size_t n, const char *expect)
{
    char storage[1024], doc[1100];
    struct fa_buf b;
    fa_buf_fixed(&b, storage, sizeof storage);
    fa_put_json_strn(&b, s, n);
    fa_buf_terminate(&b);
    snprintf(doc, sizeof doc, "[%s]", storage);
    json_error_t err;
    json_t *v = json_loads(doc, 0, &err);
    if (!v) fail_msg("not JSON: %s (%s)", doc, err.text);
    int ok = strcmp(json_string_value(json_array_get(v, 0)), expect) == 0;
    json_decref(v);
    return ok;
}

static void odd_paths_escape_to_valid_json(void **state)
{
    (void)state;
    assert_true(round_trips("/tmp/plain", 10, "/tmp/plain"));
    assert_true(round_trips("a\"b\\c", 5, "a\"b\\c"));
    assert_true(round_trips("new\nline\ttab\r", 13, "new\nline\ttab\r"));
    assert_true(round_trips("\x01\x1f\x7f", 3, "\x01\x1f\x7f"));
    assert_true(round_trips("caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac"));
    /* invalid UTF-8 bytes stay visible as U+00XX instead of breaking the record */
    assert_true(round_trips("bad\xff\xfe", 5, "bad\xc3\xbf\xc3\xbe"));
    assert_true(round_trips("\xc3", 1, "\xc3\x83"));
    assert_true(round_trips("\xed\xa0\x80", 3, "\xc3\xad\xc2\xa0\xc2\x80")); /* surrogate */
}

static void numbers(void **state)
{
    (void)state;
    char s[128];
    struct fa_buf b;
    fa_buf_fixed(&b, s, sizeof s);
    fa_put_dec(&b, -42);
    fa_putc(&b, ' ');
    fa_put_dec(&b, INT64_MIN);
    fa_putc(&b, ' ');
    fa_put_udec(&b, UINT64_MAX);
    fa_putc(&b, ' ');
    fa_put_hex(&b, 0);
    fa_putc(&b, ' ');
    fa_put_hex(&b, 0x7fffdeadbeefUL);
    fa_buf_terminate(&b);
    assert_string_equal(s, "-42 -9223372036854775808 18446744073709551615 0x0 0x7fffdeadbeef");
}

static void fixed_buffers_truncate_and_say_so(void **state)
{
    (void)state;
    char s[8];
    struct fa_buf b;
    fa_buf_fixed(&b, s, sizeof s);
    fa_puts(&b, "0123456789");
    fa_buf_terminate(&b);
    assert_true(b.truncated);
    assert_string_equal(s, "0123456");
}

/* Found by fuzzing fa_options_help: padding a full buffer used to loop forever. */
static void padding_stops_at_a_full_buffer(void **state)
{
    (void)state;
    char s[8];
    struct fa_buf b;
    fa_buf_fixed(&b, s, sizeof s);
    fa_puts(&b, "ab");
    fa_pad_to(&b, 0, 30);
    fa_buf_terminate(&b);
    assert_true(b.truncated);
    assert_string_equal(s, "ab     ");
}

static void mapped_buffers_grow(void **state)
{
    (void)state;
    struct fa_buf b;
    assert_int_equal(fa_buf_mapped(&b, 4096), 0);
    for (int i = 0; i < 100000; i++) fa_puts(&b, "0123456789");
    assert_false(b.truncated);
    assert_int_equal(b.len, 1000000);
    assert_int_equal(b.p[999999], '9');
    fa_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(odd_paths_escape_to_valid_json),
        cmocka_unit_test(numbers),
        cmocka_unit_test(fixed_buffers_truncate_and_say_so),
        cmocka_unit_test(padding_stops_at_a_full_buffer),
        cmocka_unit_test(mapped_buffers_grow),
    };
    return cmocka_run_group_tests_name("formatting", tests, NULL, NULL);
}
