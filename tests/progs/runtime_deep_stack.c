/* Deep and tight stacks. argv[1] is the scenario:
 *   main    the main thread recurses 10,000 frames, takes a mutex at the bottom and forks
 *           there: the fork's stack and the lock's acquisition stack are cut at the depth
 *           limits, and say so
 *   thread  a worker recurses 10,000 frames and waits at the bottom while the main thread
 *           forks (run with stack_signal: its stack at the fork is cut at the depth limit)
 *   small   a worker on a 64 KiB stack recurses until argv[2] bytes are left, paints the
 *           rest and waits while the main thread forks (run with stack_signal: the handler
 *           unwinds on what is left). It then measures how deep below its own frame the
 *           stack was written, and writes "handler_stack_bytes=N" to the file argv[3].
 *           With argv[4] "spin" it waits spinning instead of blocked in read().
 * Each prints key=N lines that do not depend on the auditor. */
#include "progs.h"

#include <stdint.h>
#include <string.h>

#define DEPTH 10000
#define PAINT 0xa5

static pthread_mutex_t bottom_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t ready;
static struct gate release;

/* No tail calls at -O0: every level is a frame. */
static int recurse(int depth, void (*bottom)(void))
{
    if (depth == 0) {
        bottom();
        return 0;
    }
    return recurse(depth - 1, bottom) + 1;
}

static void lock_and_fork_at_bottom(void)
{
    pthread_mutex_lock(&bottom_lock);
    print_value("child", fork_and_reap());
    pthread_mutex_unlock(&bottom_lock);
}

static void wait_at_bottom(void)
{
    pthread_barrier_wait(&ready);
    gate_wait(&release);
}

static void *deep_worker(void *arg)
{
    (void)arg;
    print_value("depth", recurse(DEPTH, wait_at_bottom));
    return NULL;
}

/* The small-stack worker's budget and what it measured. */
static size_t leave_bytes;
static uintptr_t stack_low;
static size_t handler_bytes;
static int spin_wait;
static int released;
static long small_tid;

/* Until thread `tid` is blocked in read() (system call 0 on x86-64: its "syscall" file
 * starts with "0 "), where the auditor can read its stack pointer. */
static void wait_until_in_read(long tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
    for (;;) {
        FILE *f = fopen(path, "r");
        if (!f) return;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        if (strncmp(buf, "0 ", 2) == 0) return;
    }
}

static size_t stack_left(void)
{
    volatile char here;
    return (size_t)((uintptr_t)&here - stack_low);
}

/* Below this frame, down to 256 bytes above the stack's end: nothing of the program's
 * will write there while it waits, so whatever is written was a signal handler's. */
__attribute__((noinline)) static void paint_wait_measure(void)
{
    volatile char here;
    uintptr_t top = (uintptr_t)&here - 512, low = stack_low + 256;
    memset((void *)low, PAINT, top - low);
    pthread_barrier_wait(&ready);
    if (spin_wait) {
        while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE)) {
        }
    } else {
        gate_wait(&release);
    }
    uintptr_t p = low;
    while (p < top && *(volatile unsigned char *)p == PAINT) p++;
    handler_bytes = p < top ? (size_t)((uintptr_t)&here - p) : 0;
}

__attribute__((noinline)) static void descend_until_tight(int *depth)
{
    volatile char pad[256];
    pad[0] = 1;
    if (stack_left() > leave_bytes) {
        (*depth)++;
        descend_until_tight(depth);
    } else {
        paint_wait_measure();
    }
    (void)pad[0];
}

static void *small_worker(void *arg)
{
    (void)arg;
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    pthread_getattr_np(pthread_self(), &attr);
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    stack_low = (uintptr_t)addr;
    __atomic_store_n(&small_tid, my_tid(), __ATOMIC_RELEASE);
    int depth = 0;
    descend_until_tight(&depth);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    pthread_barrier_init(&ready, NULL, 2);
    gate_init(&release);
    /* Bind memset(), read() and pthread_barrier_wait() now: lazy binding on the small
     * stack would write 3 KiB below the waiting thread's frame (the loader saves the
     * vector registers), or overflow it. */
    char scratch[64];
    volatile size_t len = sizeof scratch;
    memset(scratch, 0, len);
    struct gate warm;
    gate_init(&warm);
    gate_open(&warm);
    gate_wait(&warm);
    pthread_barrier_t one;
    pthread_barrier_init(&one, NULL, 1);
    pthread_barrier_wait(&one);
    if (strcmp(argv[1], "main") == 0) {
        print_value("depth", recurse(DEPTH, lock_and_fork_at_bottom));
        return 0;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (strcmp(argv[1], "small") == 0) {
        if (argc < 4) return 2;
        leave_bytes = strtoul(argv[2], NULL, 10);
        spin_wait = argc > 4 && strcmp(argv[4], "spin") == 0;
        pthread_attr_setstacksize(&attr, 64 * 1024);
        pthread_create(&t, &attr, small_worker, NULL);
    } else {
        pthread_create(&t, &attr, deep_worker, NULL);
    }
    pthread_barrier_wait(&ready);
    if (strcmp(argv[1], "small") == 0 && !spin_wait) wait_until_in_read(__atomic_load_n(&small_tid, __ATOMIC_ACQUIRE));
    print_value("child", fork_and_reap());
    gate_open(&release);
    __atomic_store_n(&released, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    if (strcmp(argv[1], "small") == 0) {
        FILE *f = fopen(argv[3], "w");
        if (f) {
            fprintf(f, "handler_stack_bytes=%zu\n", handler_bytes);
            fclose(f);
        }
        print_value("small_done", 1);
    }
    return 0;
}
