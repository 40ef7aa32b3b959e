/* empty.c: an empty shared library for `make bench`. Preloading it measures what any
 * LD_PRELOAD costs on its own (an extra object in the symbol search scope), so that the
 * auditor's overhead can be told apart from the cost of being preloaded at all. */

int forkaudit_bench_empty(void);

int forkaudit_bench_empty(void) { return 0; }
