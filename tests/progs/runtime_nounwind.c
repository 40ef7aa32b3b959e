/* Stacks that run through a library without unwind tables or frame pointers
 * (nounwind_callback.so, dlopened from this program's directory). A worker takes a mutex
 * inside a callback from the library and holds it; the main thread forks inside another
 * callback. argv[1]: "plain", or "junk" where the library's frame leaves %rbp pointing at
 * junk on the stack (values like return addresses that lead nowhere). Expected:
 * lock-held-at-fork, whose stacks start with the right frames and stop cleanly. */
#include "progs.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t (*nounwind_call_fn)(void (*)(void *), void *, uint64_t);

static nounwind_call_fn nounwind_call;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;
static struct gate release;
static int junk_mode;

/* The salt whose complement the library leaves in %rbp: junk on this frame's caller's
 * stack, or a plain number. */
static uint64_t salt_for(volatile uint64_t *junk)
{
    for (int i = 0; i < 8; i++) junk[i] = 0x4141414141414141ULL + (uint64_t)i;
    return junk_mode ? ~(uint64_t)(uintptr_t)junk : 0x4242424242424242ULL;
}

static void take_lock_in_callback(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    pthread_barrier_wait(&held);
    gate_wait(&release);
    pthread_mutex_unlock(&lock);
}

static void *worker_main(void *arg)
{
    (void)arg;
    volatile uint64_t junk[8];
    print_value("worker_tid", my_tid());
    nounwind_call(take_lock_in_callback, NULL, salt_for(junk));
    return NULL;
}

static void fork_in_callback(void *arg)
{
    (void)arg;
    print_value("child", fork_and_reap());
}

int main(int argc, char **argv)
{
    junk_mode = argc > 1 && strcmp(argv[1], "junk") == 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", argv[0]);
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (size_t)(slash ? slash + 1 - path : 0), "nounwind_callback.so");
    void *lib = dlopen(path, RTLD_NOW);
    if (!lib || !(nounwind_call = (nounwind_call_fn)dlsym(lib, "nounwind_call"))) return 3;
    pthread_t t;
    pthread_barrier_init(&held, NULL, 2);
    gate_init(&release);
    pthread_create(&t, NULL, worker_main, NULL);
    pthread_barrier_wait(&held);
    print_value("main_tid", my_tid());
    volatile uint64_t junk[8];
    nounwind_call(fork_in_callback, NULL, salt_for(junk));
    gate_open(&release);
    pthread_join(t, NULL);
    print_value("done", 1);
    return 0;
}
