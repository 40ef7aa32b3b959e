/* A worker holds a mutex; the main thread's trylock on it fails (holds nothing); then
 * the main thread forks. Expected: exactly one lock-held-at-fork, held by the worker. */
#include "progs.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    struct holder worker;
    start_holder(&worker, &lock);
    print_value("trylock_rc", pthread_mutex_trylock(&lock));
    fork_and_reap();
    holder_release(&worker);
    return 0;
}
