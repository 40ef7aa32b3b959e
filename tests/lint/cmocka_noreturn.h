/* Included first into the tests by `make lint` only: cmocka's _fail() (behind fail() and
 * fail_msg()) ends the test by longjmp but is not declared noreturn, so the analyzer
 * would follow paths past a failed check. */
void _fail(const char *const file, const int line) __attribute__((noreturn));
